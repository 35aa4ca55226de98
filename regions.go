package main

import (
	"encoding/json"
	"fmt"
	"net/netip"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/promfed/promfed/components/alarms"
	"github.com/promfed/promfed/components/alerting"
	"github.com/promfed/promfed/components/backup"
	"github.com/promfed/promfed/components/firewall"
	"github.com/promfed/promfed/components/hostsecrets"
	"github.com/promfed/promfed/components/network"
	"github.com/promfed/promfed/components/sessions"
	"github.com/promfed/promfed/internal/contract"
)

// region is another region that shards run in (shards[i].region), with
// what the stack builds there through that region's own provider: a VPC
// peered with the home VPC, the security groups of its secondaries, and
// the regional services a host needs nearby (its secrets, its session
// logs, snapshots and recovery).
type region struct {
	provider *aws.Provider
	net      *network.Vpc
	fw       *firewall.RegionFirewall
	secrets  *hostsecrets.Store
	sessions *sessions.Logs
}

// opts places a resource in the region.
func (r *region) opts(more ...pulumi.ResourceOption) []pulumi.ResourceOption {
	return append([]pulumi.ResourceOption{pulumi.Provider(r.provider)}, more...)
}

// regionName names another region's resources: <namePrefix>-<what>-<region>.
func (st *stack) regionName(what, region string) string {
	return st.cfg.NamePrefix + "-" + what + "-" + region
}

// regionProvider is another region's provider: an explicit provider reads
// none of the stack's aws: settings, so it takes over the ones in
// config.ProviderCarried (config refuses the others that matter).
func regionProvider(ctx *pulumi.Context, region string) (*aws.ProviderArgs, error) {
	args := &aws.ProviderArgs{Region: pulumi.String(region)}
	if profile, ok := ctx.GetConfig("aws:profile"); ok {
		args.Profile = pulumi.String(profile)
	}
	if raw, ok := ctx.GetConfig("aws:allowedAccountIds"); ok {
		var ids []string
		if err := json.Unmarshal([]byte(raw), &ids); err != nil {
			return nil, fmt.Errorf("aws:allowedAccountIds %q is not a list of account ids: %w", raw, err)
		}
		args.AllowedAccountIds = pulumi.ToStringArray(ids)
	}
	return args, nil
}

// regionNetworks: a provider, the zones and a VPC per other region, before
// the home VPC, which requests the peerings and routes them both ways.
// Every region's zones are checked before any VPC is registered.
func (st *stack) regionNetworks(ctx *pulumi.Context) error {
	cfg := st.cfg
	st.regions = map[string]*region{}
	zones := map[string][]string{}
	for _, name := range cfg.OtherRegions() {
		args, err := regionProvider(ctx, name)
		if err != nil {
			return err
		}
		p, err := aws.NewProvider(ctx, st.regionName("aws", name), args)
		if err != nil {
			return err
		}
		if zones[name], err = usableZones(ctx, name, cfg.AzCount, ", where shards run", pulumi.Provider(p)); err != nil {
			return err
		}
		st.regions[name] = &region{provider: p}
	}
	for _, name := range cfg.OtherRegions() {
		r := st.regions[name]
		var err error
		r.net, err = network.NewVpc(ctx, st.regionName("vpc", name), &network.VpcArgs{
			Cidr: cfg.RegionCidrs[name], AvailabilityZones: zones[name], SubnetPrefixLength: cfg.SubnetPrefixLength, NatStrategy: cfg.NatStrategy,
			FlowLogRetentionDays: cfg.FlowLogRetentionDays, Peers: st.workloadPeers(name), RoutesApart: true, SSHFrom: []netip.Prefix{st.bastionCidr},
			IAM: st.iam.InRegion(name), Tags: cfg.Tags(),
		}, r.opts()...)
		if err != nil {
			return err
		}
	}
	return nil
}

// workloadPeers are the workload VPCs that shards of a region peer with.
func (st *stack) workloadPeers(region string) []network.Peer {
	var out []network.Peer
	for _, s := range st.cfg.Shards {
		if s.Region == region && s.Peer != nil {
			out = append(out, network.Peer{Name: s.Name, VpcID: s.Peer.VpcID, Cidr: s.Peer.Cidr, RouteTableIDs: s.Peer.RouteTableIDs})
		}
	}
	return out
}

// regionPeers are the other regions' VPCs, as the home VPC peers them.
func (st *stack) regionPeers() []network.RegionPeer {
	var out []network.RegionPeer
	for _, name := range st.cfg.OtherRegions() {
		r := st.regions[name]
		out = append(out, network.RegionPeer{
			Region: name, VpcID: r.net.VpcID, Cidr: st.cfg.RegionCidrs[name], RouteTableIDs: r.net.PrivateRouteTableIDs, Provider: r.provider,
		})
	}
	return out
}

// regionFirewalls: each other region's security groups, which admit the
// home bastion's and primaries' subnets.
func (st *stack) regionFirewalls(ctx *pulumi.Context, shards []firewall.ShardArgs) error {
	cfg := st.cfg
	for _, name := range cfg.OtherRegions() {
		r := st.regions[name]
		args := &firewall.RegionFirewallArgs{
			VpcID: r.net.VpcID, Bastion: st.bastionCidr, Primaries: st.primaryCidrs,
			Watcher: st.watcher.Region == name, Tags: cfg.Tags(),
		}
		for i, s := range cfg.Shards {
			if s.Region == name {
				args.Shards = append(args.Shards, shards[i])
			}
		}
		var err error
		if r.fw, err = firewall.NewRegionFirewall(ctx, st.regionName("fw", name), args, r.opts()...); err != nil {
			return err
		}
	}
	return nil
}

// peeringOf is the peering a VPC made for a shard's workload VPC.
func peeringOf(net *network.Vpc, shard string) pulumi.Resource {
	for _, p := range net.Peerings {
		if p.Name == shard {
			return p.Connection
		}
	}
	return nil
}

// regionServices: each other region's host-secrets store and session logs,
// which its hosts use at boot and provisioning, near them.
func (st *stack) regionServices(ctx *pulumi.Context) error {
	cfg := st.cfg
	for _, name := range cfg.OtherRegions() {
		r := st.regions[name]
		var err error
		r.secrets, err = hostsecrets.NewStore(ctx, st.regionName("host-secrets", name), &hostsecrets.StoreArgs{
			NamePrefix: cfg.NamePrefix, Stack: cfg.Stack, Region: name, NameSuffix: "-" + name, Tags: cfg.Tags(),
		}, r.opts()...)
		if err != nil {
			return err
		}
		r.sessions, err = sessions.NewLogs(ctx, st.regionName("ssm-sessions", name), &sessions.LogsArgs{
			NamePrefix: cfg.NamePrefix, Stack: cfg.Stack, Partition: st.partition, Region: name, Account: st.account,
			RetentionDays: cfg.SessionLogRetentionDays, NameSuffix: "-" + name, Tags: cfg.Tags(),
		}, r.opts()...)
		if err != nil {
			return err
		}
	}
	return nil
}

// regionUpkeep: each other region's daily snapshots, and the alarms that
// recover its hosts and notify.
func (st *stack) regionUpkeep(ctx *pulumi.Context) error {
	cfg := st.cfg
	for _, name := range cfg.OtherRegions() {
		r := st.regions[name]
		if _, err := backup.NewSnapshots(ctx, st.regionName("tsdb", name), &backup.SnapshotsArgs{
			TargetTags:  map[string]string{contract.TagBackup: "true", contract.TagStack: cfg.Stack},
			RetainCount: cfg.SnapshotRetainCount, CopyRegion: cfg.SnapshotCopyRegion, Time: "03:00", IAM: st.iam.InRegion(name), Tags: cfg.Tags(),
		}, r.opts()...); err != nil {
			return err
		}
		// CloudWatch alarms act only in their own region: the hosts here
		// get the home alarms' checks, notifying a topic of this region
		// with the stack's general subscribers (shard subscriptions filter
		// on Alertmanager's attribute, which alarms do not set).
		topic, err := alerting.NewTopic(ctx, contract.IAMName(cfg.NamePrefix, cfg.Stack, "alerts-"+name), &alerting.TopicArgs{
			Emails: cfg.AlertEmails, HTTPSEndpoints: cfg.AlertHTTPSEndpoints, Partition: st.partition, Account: st.account, Tags: cfg.Tags(),
		}, r.opts()...)
		if err != nil {
			return err
		}
		var instances []alarms.Instance
		for _, h := range st.hosts {
			if h.Region == name {
				instances = append(instances, alarms.Instance{Name: h.Name, ID: h.server.InstanceID.ToStringOutput()})
			}
		}
		if _, err := alarms.NewAlarms(ctx, contract.IAMName(cfg.NamePrefix, cfg.Stack, "alarms-"+name), &alarms.Args{
			NamePrefix: cfg.NamePrefix, Stack: cfg.Stack, Partition: st.partition, Region: name, Instances: instances,
			TopicArn: topic.TopicArn, Tags: cfg.Tags(),
		}, r.opts()...); err != nil {
			return err
		}
	}
	return nil
}
