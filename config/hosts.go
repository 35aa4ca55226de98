package config

import (
	"fmt"

	"github.com/promfed/promfed/internal/contract"
)

// Host is one Prometheus host of the stack. The list is computed once, in
// Load; every package takes host identity from it (resource names, DNS
// names, placement, Ansible variables), so none re-derives it.
type Host struct {
	// Name is unique and readable: "primary", "secondary-<shard>-<n>". It
	// names Pulumi resources, the private DNS record and the host's
	// "prometheus" external label.
	Name  string
	Role  contract.Role
	Shard string // "" for the primary
	// Index counts the secondaries of a shard from 1.
	Index int
	// AZIndex is the position of the host's availability zone in the
	// stack's zone list.
	AZIndex      int
	InstanceType string
}

// hosts lays out the primary and every shard's secondaries, spreading them
// round-robin over the zones so consecutive hosts land in different AZs.
func hosts(c *Config) []Host {
	out := []Host{{Name: "primary", Role: contract.RolePrimary, InstanceType: c.PrimaryInstanceType}}
	for _, s := range c.Shards {
		for n := 1; n <= s.Secondaries; n++ {
			out = append(out, Host{
				Name: fmt.Sprintf("secondary-%s-%d", s.Name, n), Role: contract.RoleSecondary, Shard: s.Name,
				Index: n, AZIndex: len(out) % c.AzCount, InstanceType: c.SecondaryInstanceType,
			})
		}
	}
	return out
}

// Primary is the host that federates every shard.
func (c *Config) Primary() Host {
	h, ok := FirstOfRole(c.Hosts, contract.RolePrimary)
	if !ok {
		panic("config: a loaded configuration always has a primary")
	}
	return h
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
