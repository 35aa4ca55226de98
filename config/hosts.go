package config

import (
	"fmt"

	"github.com/promfed/promfed/internal/contract"
)

// Host is one Prometheus host of the stack. The list is computed once, in
// Load; every package takes host identity from it (resource names, DNS
// names, placement, Ansible variables), so none re-derives it.
type Host struct {
	// Name is unique and readable: "primary-a", "primary-b",
	// "secondary-<shard>-<n>". It names Pulumi resources, the private DNS
	// record and the host's "prometheus" external label.
	Name string
	// FormerName is the name the host's resources had before it was
	// renamed ("primary", before replicas): Pulumi aliases keep them.
	FormerName string
	Role       contract.Role
	// Replica is a primary's letter ("a", "b"), its "replica" external
	// label; "" for secondaries.
	Replica string
	Shard   string // "" for a primary
	// Region is where the host runs: the stack's region, or its shard's.
	Region string
	// Index counts the secondaries of a shard from 1.
	Index int
	// AZIndex is the position of the host's availability zone in the
	// stack's zone list.
	AZIndex      int
	InstanceType string
	// RestoreSnapshot is the EBS snapshot the host's data volume is made
	// from (restoreSnapshots), or "".
	RestoreSnapshot string
}

// hosts lays out the primary replicas, one per zone from the first, then
// every shard's secondaries (see secondaryZone).
func hosts(c *Config) []Host {
	var out []Host
	for i := range c.PrimaryReplicas {
		r := string(rune('a' + i))
		h := Host{Name: "primary-" + r, Role: contract.RolePrimary, Replica: r, Region: c.Region, AZIndex: i % c.AzCount, InstanceType: c.PrimaryInstanceType}
		if i == 0 {
			h.FormerName = "primary"
		}
		out = append(out, h)
	}
	placed := 1 // legacy: the global position, as if there were one primary
	for _, s := range c.Shards {
		for n := 1; n <= s.Secondaries; n++ {
			zone := secondaryZone(n)
			if !c.StableLayout {
				zone = placed % c.AzCount
			}
			out = append(out, Host{
				Name: fmt.Sprintf("secondary-%s-%d", s.Name, n), Role: contract.RoleSecondary, Shard: s.Name, Region: s.Region,
				Index: n, AZIndex: zone, InstanceType: c.SecondaryInstanceType,
			})
			placed++
		}
	}
	return out
}

// hostZones is how many zones hosts are spread over in the stable layout:
// the smallest azCount. Two zones keep every pair (the primary replicas, a
// shard's secondaries) across a zone outage; a zone beyond them serves the
// load balancer and the NAT gateways. A larger spread would depend on
// azCount, and raising it would move hosts (and their volumes).
const hostZones = 2

// secondaryZone places the n-th secondary of a shard by its number only:
// a shard's secondaries alternate between the two zones, so a pair spans
// both, and a shard's first secondary is never in primary-a's zone. Neither
// adding a shard or a secondary nor raising azCount moves a host.
func secondaryZone(n int) int { return n % hostZones }

// OfRole lists the hosts of a role, in order.
func OfRole(hosts []Host, role contract.Role) []Host {
	var out []Host
	for _, h := range hosts {
		if h.Role == role {
			out = append(out, h)
		}
	}
	return out
}

// Shard returns the shard named name.
func (c *Config) Shard(name string) (Shard, bool) { return FindShard(c.Shards, name) }

// HostNames lists the hosts' names in order.
func (c *Config) HostNames() []string { return Names(c.Hosts) }

// FirstOfRole is the first host of a role in a host list.
func FirstOfRole(hosts []Host, role contract.Role) (Host, bool) {
	for _, h := range hosts {
		if h.Role == role {
			return h, true
		}
	}
	return Host{}, false
}

// Watcher is the secondary that also watches the primaries from outside
// (their node_exporter) and probes the public endpoint: the first one.
// The playbook's variables and the security groups both follow it.
func Watcher(hosts []Host) (Host, bool) { return FirstOfRole(hosts, contract.RoleSecondary) }

// FindShard is the shard named name in a shard list.
func FindShard(shards []Shard, name string) (Shard, bool) {
	for _, s := range shards {
		if s.Name == name {
			return s, true
		}
	}
	return Shard{}, false
}

// Names lists the hosts' names in order.
func Names(hosts []Host) []string {
	names := make([]string, len(hosts))
	for i, h := range hosts {
		names[i] = h.Name
	}
	return names
}
