package main

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/promfed/promfed/components/alarms"
	"github.com/promfed/promfed/components/alerting"
	"github.com/promfed/promfed/components/amp"
	"github.com/promfed/promfed/components/backup"
	"github.com/promfed/promfed/components/bastion"
	"github.com/promfed/promfed/components/certificate"
	"github.com/promfed/promfed/components/chaos"
	"github.com/promfed/promfed/components/dns"
	"github.com/promfed/promfed/components/edge"
	"github.com/promfed/promfed/components/firewall"
	"github.com/promfed/promfed/components/grafana"
	"github.com/promfed/promfed/components/hostsecrets"
	"github.com/promfed/promfed/components/loadbalancer"
	"github.com/promfed/promfed/components/network"
	"github.com/promfed/promfed/components/prometheus"
	"github.com/promfed/promfed/components/provision"
	"github.com/promfed/promfed/components/scanning"
	"github.com/promfed/promfed/components/sessions"
	"github.com/promfed/promfed/components/waf"
	"github.com/promfed/promfed/config"
	"github.com/promfed/promfed/internal/contract"
	"github.com/promfed/promfed/internal/iamrole"
	"github.com/promfed/promfed/internal/pki"
	"github.com/promfed/promfed/internal/playbook"
)

// bastionSubnet is the index of the public subnet the bastion runs in.
const bastionSubnet = 0

// Folders the program reads, relative to the project.
const (
	ansibleDir    = "ansible"    // copied to every host
	monitoringDir = "monitoring" // the user's rule files
)

// stack is what the program builds, step by step, and exports.
type stack struct {
	cfg   *config.Config
	keys  *pki.Deriver
	rules *playbook.Rules
	tree  string // hash of the Ansible tree
	fleet *playbook.Fleet
	iam   iamrole.Scope
	// account and partition the stack deploys to
	account, partition string
	// zones are the availability zones used, in index order
	zones []string
	// watcher is the secondary that watches the primaries' node_exporter
	// and probes the public endpoint (config.Watcher).
	watcher config.Host
	// bastionCidr and primaryCidrs are the home subnets the bastion and
	// the primaries run in: what other regions admit, by CIDR.
	bastionCidr  netip.Prefix
	primaryCidrs []netip.Prefix

	net     *network.Vpc
	fw      *firewall.Firewall
	regions map[string]*region // the other regions shards run in (regions.go)
	bastion *bastion.Bastion
	alerts  *alerting.Topic
	faults  *chaos.Experiments // nil without faultInjection
	amp     *amp.Workspace     // nil without ampRemoteWrite
	grafana *grafana.Workspace // nil without grafanaWorkspace
	zone    *dns.PrivateZone
	hosts   []*host // in config order: the primary, then each shard's secondaries
	alb     *loadbalancer.Alb
	// sessionDocument is the Session Manager document that records sessions.
	sessionDocument pulumi.StringOutput
}

// host is one Prometheus host and everything built for it.
type host struct {
	config.Host
	server *prometheus.Server
}

// build composes the stack: network and firewall, hosts, the public
// endpoint, then provisioning. Local inputs (keys, the Ansible tree, the
// user's rules) are read before the first resource, so a bad file fails the
// run with nothing created.
func build(ctx *pulumi.Context, cfg *config.Config) (*stack, error) {
	st := &stack{cfg: cfg}
	var err error
	if st.keys, err = pki.New(cfg.HostKeySeed.Reveal(), cfg.Stack); err != nil {
		return nil, err
	}
	if st.tree, err = playbook.TreeHash(ansibleDir); err != nil {
		return nil, err
	}
	if st.rules, err = playbook.LoadRules(monitoringDir, cfg.Shards); err != nil {
		return nil, err
	}
	// What each host's playbook gets; decided once, used to store the
	// hosts' secrets and to provision them.
	st.fleet = &playbook.Fleet{
		Stack: cfg.Stack, InternalZone: cfg.InternalZone, Hosts: cfg.Hosts, Shards: cfg.Shards,
		WebUsername: cfg.WebUsername, WebPassword: cfg.WebPassword.Reveal(),
		RetentionTime: cfg.RetentionTime, RetentionSize: cfg.RetentionSize, DataVolumeGiB: cfg.DataVolumeSizeGiB,
		EndpointProbe: "https://" + cfg.Domain + "/-/healthy", Rules: st.rules, Keys: st.keys,
		Alerting: playbook.Alerting{
			SNSRegion: cfg.Region, WebhookURL: cfg.AlertWebhookURL.Reveal(), HeartbeatURL: cfg.HeartbeatURL.Reveal(), SlackURL: cfg.SlackWebhookURL.Reveal(),
			SlackChannel: cfg.SlackChannel, PagerDutyKey: cfg.PagerDutyRoutingKey.Reveal(),
		},
	}
	if cfg.AMP != nil {
		recorded, err := playbook.RecordedNames(ansibleDir, st.rules)
		if err != nil {
			return nil, err
		}
		if err := playbook.CheckAMPMatch(cfg.AMP, recorded); err != nil {
			return nil, err
		}
		st.fleet.RemoteWrite = &playbook.RemoteWrite{AMP: cfg.AMP, Region: cfg.Region}
	}
	for _, dir := range st.rules.Ignored {
		// Shown by preview and up: a typo in a folder name is seen here.
		_ = ctx.Log.Warn(fmt.Sprintf("%s: stack %s has no shard of that name; its rules are not deployed", dir, cfg.Stack), nil)
	}
	// Every role is created under the stack's IAM path with the boundary
	// bootstrap/ made in this account (the deploy role may not do otherwise).
	caller, err := aws.GetCallerIdentity(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("get caller identity: %w", err)
	}
	partition, err := aws.GetPartition(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("get partition: %w", err)
	}
	// The zones, before anything is registered: too few fails the run with
	// nothing created.
	if st.zones, err = usableZones(ctx, cfg.Region, cfg.AzCount, ""); err != nil {
		return nil, err
	}
	st.iam = iamrole.Scope{NamePrefix: cfg.NamePrefix, Stack: cfg.Stack,
		Boundary: pulumi.String(contract.BoundaryPolicyARN(partition.Partition, caller.AccountId, cfg.NamePrefix))}
	st.account, st.partition = caller.AccountId, partition.Partition
	st.watcher, _ = config.Watcher(cfg.Hosts)
	public, private, err := network.SubnetPlan(cfg.VpcCidr, cfg.AzCount, cfg.SubnetPrefixLength, cfg.StableLayout)
	if err != nil {
		return nil, err
	}
	st.bastionCidr = public[bastionSubnet]
	for _, h := range config.OfRole(cfg.Hosts, contract.RolePrimary) {
		if p := private[h.AZIndex]; !slices.Contains(st.primaryCidrs, p) {
			st.primaryCidrs = append(st.primaryCidrs, p)
		}
	}
	for _, step := range []func(*pulumi.Context) error{st.regionNetworks, st.networkAndFirewall, st.regionServices, st.buildHosts,
		st.longTermStore, st.dashboards, st.endpoint, st.alarms, st.regionUpkeep, st.provisioning, st.scanning} {
		if err := step(ctx); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// usableZones are the first azCount standard zones of a region (where, if
// set, says why the region is used), through the invoke options' provider.
func usableZones(ctx *pulumi.Context, region string, azCount int, where string, opts ...pulumi.InvokeOption) ([]string, error) {
	zones, err := network.StandardZones(ctx, opts...)
	if err != nil {
		return nil, err
	}
	if len(zones) < azCount {
		return nil, fmt.Errorf("azCount %d is more than the %d standard availability zones of %s (%s)%s: lower azCount",
			azCount, len(zones), region, strings.Join(zones, ", "), where)
	}
	return zones[:azCount], nil
}

// networkAndFirewall: the VPC (with peerings to the shards' workload VPCs
// and to the other regions' VPCs) and every security group.
func (st *stack) networkAndFirewall(ctx *pulumi.Context) error {
	cfg, tags := st.cfg, st.cfg.Tags()
	var err error
	st.net, err = network.NewVpc(ctx, cfg.NamePrefix, &network.VpcArgs{
		Cidr: cfg.VpcCidr, AvailabilityZones: st.zones, LegacyLayout: !cfg.StableLayout, SubnetPrefixLength: cfg.SubnetPrefixLength, NatStrategy: cfg.NatStrategy,
		FlowLogRetentionDays: cfg.FlowLogRetentionDays, AdminCidrs: cfg.AdminCidrs, Peers: st.workloadPeers(cfg.Region), Regions: st.regionPeers(), IAM: st.iam, Tags: tags,
	})
	if err != nil {
		return err
	}
	// Without Cloudflare the ALB also admits the NAT gateways of the
	// region the first secondary runs in, so it can probe the public
	// endpoint as clients see it.
	web, probes := cfg.AllowedCidrs, st.vpcIn(st.watcher.Region).NatPublicIPs
	if cfg.Cloudflare() {
		probes = nil
		if web, err = edge.IPRanges(ctx); err != nil {
			return err
		}
	}
	var shards, home []firewall.ShardArgs
	for _, s := range cfg.Shards {
		sa := firewall.ShardArgs{Name: s.Name, Ports: s.ScrapePorts(), ProbePorts: s.ProbePorts()}
		if s.Peer != nil {
			sa.Peer = &firewall.PeerArgs{VpcID: s.Peer.VpcID, Cidr: s.Peer.Cidr, Peering: peeringOf(st.vpcIn(s.Region), s.Name)}
		}
		shards = append(shards, sa)
		if s.Region == cfg.Region {
			home = append(home, sa)
		}
	}
	var regions []firewall.RegionArgs
	for _, name := range cfg.OtherRegions() {
		regions = append(regions, firewall.RegionArgs{Region: name, Cidr: cfg.RegionCidrs[name], Watcher: st.watcher.Region == name})
	}
	st.fw, err = firewall.NewFirewall(ctx, cfg.NamePrefix, &firewall.Args{
		VpcID: st.net.VpcID, AdminCidrs: cfg.AdminCidrs, WebSources: web, ProbeSources: probes, Shards: home, Regions: regions, Tags: tags,
	})
	if err != nil {
		return err
	}
	return st.regionFirewalls(ctx, shards)
}

// vpcIn is the VPC of a region the stack runs hosts in.
func (st *stack) vpcIn(region string) *network.Vpc {
	if r, ok := st.regions[region]; ok {
		return r.net
	}
	return st.net
}

// buildHosts: the bastion, the alert topic, every Prometheus host, their
// snapshots and their private names.
func (st *stack) buildHosts(ctx *pulumi.Context) error {
	cfg, tags := st.cfg, st.cfg.Tags()
	client, bastionKey := st.keys.ClientKey(), st.keys.HostKey("bastion")
	// Host private keys travel through SSM Parameter Store, each readable
	// by its own host only; user data holds no secret.
	secrets, err := hostsecrets.NewStore(ctx, contract.IAMName(cfg.NamePrefix, cfg.Stack, "host-secrets"), &hostsecrets.StoreArgs{
		NamePrefix: cfg.NamePrefix, Stack: cfg.Stack, Region: cfg.Region, Tags: tags,
	})
	if err != nil {
		return err
	}
	// Every Session Manager session on a host is recorded, encrypted.
	sessionLogs, err := sessions.NewLogs(ctx, contract.IAMName(cfg.NamePrefix, cfg.Stack, "ssm-sessions"), &sessions.LogsArgs{
		NamePrefix: cfg.NamePrefix, Stack: cfg.Stack, Partition: st.partition, Region: cfg.Region, Account: st.account,
		RetentionDays: cfg.SessionLogRetentionDays, Tags: tags,
	})
	if err != nil {
		return err
	}
	st.sessionDocument = sessionLogs.DocumentName
	st.bastion, err = bastion.NewBastion(ctx, "bastion", &bastion.Args{
		InstanceType: cfg.BastionInstanceType, AmiFamily: cfg.AmiFamily, AmiID: cfg.AmiID,
		SubnetID: st.net.PublicSubnetIDs.Index(pulumi.Int(bastionSubnet)), SecurityGroupID: st.fw.BastionSG,
		HostKeyPrivate: pulumi.ToSecret(pulumi.String(bastionKey.PrivateKey)).(pulumi.StringOutput),
		HostKeyPublic:  bastionKey.PublicKey, ClientPublicKey: client.PublicKey, Secrets: secrets, IAM: st.iam, Tags: tags,
		SessionLogs: sessionLogs.LogGroupArn,
	})
	if err != nil {
		return err
	}
	var shardEmails []alerting.ShardEmail
	for _, s := range cfg.Shards {
		for _, e := range s.AlertEmails {
			shardEmails = append(shardEmails, alerting.ShardEmail{Shard: s.Name, Email: e})
		}
	}
	st.alerts, err = alerting.NewTopic(ctx, cfg.NamePrefix+"-"+cfg.Stack+"-alerts", &alerting.TopicArgs{
		Emails: cfg.AlertEmails, HTTPSEndpoints: cfg.AlertHTTPSEndpoints, ShardEmails: shardEmails, Tags: tags,
		Partition: st.partition, Account: st.account,
	})
	if err != nil {
		return err
	}

	var records []dns.HostRecord
	for _, h := range cfg.Hosts {
		// A host of another region is placed in that region's VPC, through
		// its provider, with its secrets and session logs there.
		net, members, secondary, logs, opts := st.net, st.fw.MembersSG, st.fw.SecondarySG, sessionLogs, formerName(h)
		hostSecrets := secrets
		if r, ok := st.regions[h.Region]; ok {
			net, members, secondary, logs, hostSecrets, opts = r.net, r.fw.MembersSG, r.fw.SecondarySG, r.sessions, r.secrets, r.opts(opts...)
		}
		args := &prometheus.ServerArgs{
			Role: h.Role, Shard: h.Shard, InstanceType: h.InstanceType, AmiFamily: cfg.AmiFamily, AmiID: cfg.AmiID,
			SubnetID: net.PrivateSubnetIDs.Index(pulumi.Int(h.AZIndex)), AvailabilityZone: net.AvailabilityZones[h.AZIndex],
			DataVolumeGiB: cfg.DataVolumeSizeGiB, RestoreSnapshot: h.RestoreSnapshot, Protect: cfg.Protect,
			HostKeyPrivate: pulumi.ToSecret(pulumi.String(st.keys.HostKey(h.Name).PrivateKey)).(pulumi.StringOutput),
			HostKeyPublic:  st.keys.HostKey(h.Name).PublicKey, ClientPublicKey: client.PublicKey, Secrets: hostSecrets, IAM: st.iam, Tags: tags,
			PlaybookSecrets: map[string]pulumi.StringInput{}, SessionLogs: logs.LogGroupArn,
		}
		playbookSecrets, err := st.fleet.Secrets(h.Name)
		if err != nil {
			return err
		}
		for _, sec := range playbookSecrets {
			args.PlaybookSecrets[sec.Name] = pulumi.ToSecret(pulumi.String(sec.Value)).(pulumi.StringOutput)
		}
		if h.Role == contract.RolePrimary {
			args.SecurityGroupIDs = pulumi.StringArray{st.fw.MembersSG, st.fw.PrimarySG}
			args.AlertTopic = &prometheus.AlertTopic{TopicArn: st.alerts.TopicArn, KeyArn: st.alerts.KeyArn}
		} else {
			args.SecurityGroupIDs = pulumi.StringArray{members, secondary, st.shardGroups(h.Shard).Scraper}
			shard, _ := cfg.Shard(h.Shard)
			args.DiscoveryRegions = shard.DiscoveryRegions()
		}
		s, err := prometheus.NewServer(ctx, h.Name, args, opts...)
		if err != nil {
			return err
		}
		st.hosts = append(st.hosts, &host{Host: h, server: s})
		records = append(records, dns.HostRecord{Name: h.Name, Address: s.PrivateIP})
	}
	if _, err := backup.NewSnapshots(ctx, cfg.NamePrefix+"-tsdb", &backup.SnapshotsArgs{
		TargetTags:  map[string]string{contract.TagBackup: "true", contract.TagStack: cfg.Stack},
		RetainCount: cfg.SnapshotRetainCount, CopyRegion: cfg.SnapshotCopyRegion, Time: "03:00", IAM: st.iam, Tags: tags,
	}); err != nil {
		return err
	}
	var peerVpcs []string
	for _, s := range cfg.Shards {
		if s.Peer != nil && s.Region == cfg.Region {
			peerVpcs = append(peerVpcs, s.Peer.VpcID)
		}
	}
	var regionVpcs []dns.RegionVpc
	for _, name := range cfg.OtherRegions() {
		regionVpcs = append(regionVpcs, dns.RegionVpc{Region: name, VpcID: st.regions[name].net.VpcID})
	}
	for _, s := range cfg.Shards {
		if s.Peer != nil && s.Region != cfg.Region {
			regionVpcs = append(regionVpcs, dns.RegionVpc{Region: s.Region, VpcID: pulumi.String(s.Peer.VpcID)})
		}
	}
	st.zone, err = dns.NewPrivateZone(ctx, cfg.NamePrefix+"-internal", &dns.PrivateZoneArgs{
		Zone: cfg.InternalZone, VpcID: st.net.VpcID, PeerVpcIDs: peerVpcs, RegionVpcs: regionVpcs, Hosts: records, Tags: tags,
	})
	return err
}

func (st *stack) shardGroups(name string) firewall.ShardGroups {
	for _, g := range st.allShardGroups() {
		if g.Name == name {
			return g
		}
	}
	panic("stack: every configured shard has security groups") // the firewall is built from cfg.Shards
}

// allShardGroups are every shard's groups, home and in other regions.
func (st *stack) allShardGroups() []firewall.ShardGroups {
	all := slices.Clone(st.fw.Shards)
	for _, name := range st.cfg.OtherRegions() {
		all = append(all, st.regions[name].fw.Shards...)
	}
	return all
}

// formerName keeps a renamed host's resources (and, through Pulumi's alias
// inheritance, their children) instead of replacing them: "primary" became
// "primary-a" when replicas came.
func formerName(h config.Host) []pulumi.ResourceOption {
	if h.FormerName == "" {
		return nil
	}
	return []pulumi.ResourceOption{pulumi.Aliases([]pulumi.Alias{{Name: pulumi.String(h.FormerName)}})}
}

// endpoint: the certificate, the ALB and the public name, in Route53 or
// behind Cloudflare with mutual TLS at the ALB.
func (st *stack) endpoint(ctx *pulumi.Context) error {
	cfg := st.cfg
	validator := dns.Validator(cfg.Route53ZoneID)
	originCA := ""
	if cfg.Cloudflare() {
		validator, originCA = edge.Validator(cfg.CloudflareZoneID), cfg.OriginPullCa
	}
	cert, err := certificate.NewCertificate(ctx, cfg.NamePrefix+"-endpoint", &certificate.Args{
		Domain: cfg.Domain, Validator: validator, Tags: cfg.Tags(),
	})
	if err != nil {
		return err
	}
	var targets []loadbalancer.Target
	for _, h := range st.hosts {
		if h.Role == contract.RolePrimary {
			targets = append(targets, loadbalancer.Target{Name: h.Name, FormerName: h.FormerName, InstanceID: h.server.InstanceID})
		}
	}
	st.alb, err = loadbalancer.NewAlb(ctx, cfg.NamePrefix, &loadbalancer.AlbArgs{
		Name: cfg.AlbName(), TargetGroupName: cfg.TargetGroupName(), VpcID: st.net.VpcID, SubnetIDs: st.net.PublicSubnetIDs,
		SecurityGroupID: st.fw.AlbSG, CertificateArn: cert.Arn, TLSPolicy: cfg.TLSPolicy,
		Targets: targets, TargetPort: contract.PortPrometheus, OriginPullCA: originCA,
		AccessLogRetentionDay: cfg.AccessLogRetentionDays, Protect: cfg.Protect, Tags: cfg.Tags(),
	})
	if err != nil {
		return err
	}
	// One admission policy for whichever edge is in front: allowedCidrs and
	// the NAT gateways (the endpoint probe) on every path.
	policy := cfg.EdgePolicy(nil)
	if cfg.Cloudflare() {
		_, err = edge.NewCloudflare(ctx, cfg.NamePrefix+"-edge", &edge.CloudflareArgs{
			ZoneID: cfg.CloudflareZoneID, AlbDNS: st.alb.DNSName, Policy: policy, ProbeSources: st.net.NatPublicIPs,
			Plan: cfg.CloudflarePlan, OriginPullCertificate: cfg.OriginPullCertificate,
			OriginPullPrivateKey: pulumi.ToSecret(pulumi.String(cfg.OriginPullPrivateKey.Reveal())).(pulumi.StringOutput),
		})
		return err
	}
	if _, err = waf.NewWebACL(ctx, cfg.NamePrefix+"-"+cfg.Stack+"-waf", &waf.WebACLArgs{
		Policy: policy, ProbeSources: st.net.NatPublicIPs, AlbArn: st.alb.Arn, Tags: cfg.Tags(),
	}); err != nil {
		return err
	}
	_, err = dns.NewPublicRecords(ctx, cfg.NamePrefix+"-endpoint", &dns.PublicRecordsArgs{
		ZoneID: cfg.Route53ZoneID, Domain: cfg.Domain, AlbDNS: st.alb.DNSName, AlbZoneID: st.alb.ZoneID,
	})
	return err
}

// provisioning: Ansible on every host, keyed on hashes of the instance id,
// the tree and the host's variables. Each primary replica waits for the one
// before it, so a change never restarts both at once.
func (st *stack) provisioning(ctx *pulumi.Context) error {
	cfg, fleet := st.cfg, st.fleet
	client, bastionKey := st.keys.ClientKey(), st.keys.HostKey("bastion")
	var previousPrimary pulumi.Resource
	for _, h := range st.hosts {
		name := h.Name
		// Rendered now, so an error fails the run before any provisioning
		// (with a stand-in volume id: the real one exists only later).
		check := *fleet
		check.DataVolumes = map[string]string{name: "vol-0"}
		if _, err := check.VarsJSON(name); err != nil {
			return err
		}
		// The host's variables wait for its volume's id, the primaries' for
		// the alert topic's ARN, and a writer's for the workspace's URL.
		inputs := []any{h.server.VolumeID, pulumi.String(""), pulumi.String("")}
		if h.Role == contract.RolePrimary {
			inputs[1] = st.alerts.TopicArn
		}
		if st.amp != nil && cfg.AMP.Writes(h.Host) {
			inputs[2] = st.amp.RemoteWriteURL
		}
		vars := pulumi.All(inputs...).ApplyT(func(v []any) (string, error) {
			f := *fleet
			f.DataVolumes = map[string]string{name: string(v[0].(pulumi.ID))}
			if arn := v[1].(string); arn != "" {
				f.Alerting.SNSTopicArn = arn
			}
			if url := v[2].(string); url != "" {
				rw := *f.RemoteWrite
				rw.URL = url
				f.RemoteWrite = &rw
			}
			return f.VarsJSON(name)
		}).(pulumi.StringOutput)
		params, digest, err := fleet.SecretInputs(name, func(secret string) string {
			return contract.SecretParameter(cfg.NamePrefix, cfg.Stack, name, secret)
		})
		if err != nil {
			return err
		}
		opts := formerName(h.Host)
		if h.Role == contract.RolePrimary && previousPrimary != nil {
			opts = append(opts, pulumi.DependsOn([]pulumi.Resource{previousPrimary}))
		}
		p, err := provision.NewHost(ctx, name, &provision.HostArgs{
			InstanceID: h.server.InstanceID.ToStringOutput(), Address: h.server.PrivateIP,
			HostKey:   st.keys.HostKey(name).PublicKey,
			Bastion:   provision.Bastion{Address: st.bastion.PublicIP, HostKey: bastionKey.PublicKey},
			ClientKey: pulumi.ToSecret(pulumi.String(client.PrivateKey)).(pulumi.StringOutput),
			VarsJSON:  vars, Region: h.Region, Secrets: params,
			SecretsDigest: pulumi.ToSecret(pulumi.String(digest)).(pulumi.StringOutput), SecretResources: h.server.SecretResources,
			AnsibleDir: ansibleDir, TreeHash: st.tree, Generation: cfg.ProvisionGeneration,
		}, opts...)
		if err != nil {
			return err
		}
		if h.Role == contract.RolePrimary {
			previousPrimary = p.Converged
		}
	}
	return nil
}

// longTermStore: with ampRemoteWrite, the AMP workspace the writing hosts
// (config.AMP.Writes) send to, each allowed to write there and nowhere else.
func (st *stack) longTermStore(ctx *pulumi.Context) error {
	cfg := st.cfg
	if cfg.AMP == nil {
		return nil
	}
	writers := map[string]pulumi.StringInput{}
	for _, h := range st.hosts {
		if cfg.AMP.Writes(h.Host) {
			writers[h.Name] = h.server.RoleName
		}
	}
	var err error
	st.amp, err = amp.NewWorkspace(ctx, cfg.NamePrefix+"-amp", &amp.WorkspaceArgs{
		Alias: cfg.NamePrefix + "-" + cfg.Stack, Writers: writers, LogRetentionDays: cfg.FlowLogRetentionDays, Tags: cfg.Tags(),
	})
	return err
}

// dashboards: with grafanaWorkspace, an Amazon Managed Grafana workspace
// that may query the AMP workspace, if any.
func (st *stack) dashboards(ctx *pulumi.Context) error {
	cfg := st.cfg
	if !cfg.GrafanaWorkspace {
		return nil
	}
	args := &grafana.WorkspaceArgs{IAM: st.iam, Tags: cfg.Tags()}
	if st.amp != nil {
		args.AMPWorkspaceArn = st.amp.Arn
	}
	var err error
	st.grafana, err = grafana.NewWorkspace(ctx, cfg.NamePrefix+"-grafana", args)
	return err
}

// alarms: CloudWatch watches what Prometheus cannot see of itself.
func (st *stack) alarms(ctx *pulumi.Context) error {
	cfg := st.cfg
	instances := []alarms.Instance{{Name: "bastion", ID: st.bastion.InstanceID.ToStringOutput()}}
	for _, h := range st.hosts {
		if h.Region != cfg.Region {
			continue // regionUpkeep: CloudWatch watches an instance from its own region
		}
		instances = append(instances, alarms.Instance{Name: h.Name, ID: h.server.InstanceID.ToStringOutput()})
	}
	a, err := alarms.NewAlarms(ctx, contract.IAMName(cfg.NamePrefix, cfg.Stack, "alarms"), &alarms.Args{
		NamePrefix: cfg.NamePrefix, Stack: cfg.Stack, Partition: st.partition, Region: cfg.Region, Instances: instances,
		LoadBalancer: st.alb.ArnSuffix, TargetGroup: st.alb.TargetGroupArnSuffix, TopicArn: st.alerts.TopicArn, Tags: cfg.Tags(),
	})
	if err != nil || !cfg.FaultInjection {
		return err
	}
	// The game days' faults (docs/dr.md): the subnet experiment cuts off
	// the second zone's private subnet, where primary-b and every other
	// secondary run.
	arn := func(kind string, id pulumi.StringOutput) pulumi.StringOutput {
		return pulumi.Sprintf("arn:%s:ec2:%s:%s:%s/%s", st.partition, cfg.Region, st.account, kind, id)
	}
	st.faults, err = chaos.NewExperiments(ctx, contract.IAMName(cfg.NamePrefix, cfg.Stack, "faults"), &chaos.ExperimentsArgs{
		Stack: cfg.Stack, StopAlarmArn: a.EndpointArn,
		SubnetArn: arn("subnet", st.net.PrivateSubnetIDs.Index(pulumi.Int(1))), VpcArn: arn("vpc", st.net.VpcID),
		IAM: st.iam, Tags: cfg.Tags(),
	})
	return err
}

// scanning: Amazon Inspector over the hosts, when asked for, in every
// region they run in (Inspector is enabled per region).
func (st *stack) scanning(ctx *pulumi.Context) error {
	if !st.cfg.Inspector {
		return nil
	}
	args := &scanning.InspectorArgs{ResourceTypes: []string{"EC2"}}
	if _, err := scanning.NewInspector(ctx, st.cfg.NamePrefix+"-inspector", args); err != nil {
		return err
	}
	for _, name := range st.cfg.OtherRegions() {
		if _, err := scanning.NewInspector(ctx, st.regionName("inspector", name), args, st.regions[name].opts()...); err != nil {
			return err
		}
	}
	return nil
}

// hostsOutput is the hosts output: per host what operators, the inventory
// and the CLI need to reach it.
func (st *stack) hostsOutput() pulumi.Map {
	hosts := pulumi.Map{}
	for _, h := range st.hosts {
		// Sessions are started in the host's region, with its document.
		document := st.sessionDocument
		if r, ok := st.regions[h.Region]; ok {
			document = r.sessions.DocumentName
		}
		hosts[h.Name] = pulumi.Map{
			"fqdn": pulumi.String(st.zone.Fqdns[h.Name]), "privateIp": h.server.PrivateIP, "instanceId": h.server.InstanceID,
			"role": pulumi.String(string(h.Role)), "shard": pulumi.String(h.Shard), "hostKey": pulumi.String(st.keys.HostKey(h.Name).PublicKey),
			"dataVolumeId": h.server.VolumeID, "region": pulumi.String(h.Region), "sessionDocument": document,
		}
	}
	return hosts
}

// export publishes the outputs operators and the inventory command use.
func (st *stack) export(ctx *pulumi.Context) {
	ca, _ := st.keys.CA() // derived in build already; deterministic
	ctx.Export("url", pulumi.String("https://"+st.cfg.Domain))
	ctx.Export("region", pulumi.String(st.cfg.Region))
	ctx.Export("albDnsName", st.alb.DNSName)
	ctx.Export("bastionIp", st.bastion.PublicIP)
	ctx.Export("bastionHostKey", pulumi.String(st.keys.HostKey("bastion").PublicKey))
	ctx.Export("sshUser", pulumi.String(contract.SSHUser))
	ctx.Export("internalZone", pulumi.String(st.cfg.InternalZone))
	ctx.Export("caCertificate", pulumi.String(ca.PEM))
	ctx.Export("ansibleTreeHash", pulumi.String(st.tree))
	ctx.Export("alertTopicArn", st.alerts.TopicArn)
	ctx.Export("sessionDocument", st.sessionDocument)
	ctx.Export("vpcId", st.net.VpcID)
	if len(st.regions) > 0 {
		vpcs := pulumi.Map{}
		for name, r := range st.regions {
			vpcs[name] = r.net.VpcID
		}
		ctx.Export("regionVpcIds", vpcs)
	}
	if st.faults != nil {
		ctx.Export("faultTemplates", st.faults.TemplateIDs)
	}
	if st.amp != nil {
		ctx.Export("ampRemoteWriteUrl", st.amp.RemoteWriteURL)
		ctx.Export("ampQueryUrl", st.amp.QueryURL)
	}
	if st.grafana != nil {
		ctx.Export("grafanaUrl", pulumi.Sprintf("https://%s", st.grafana.Endpoint))
	}
	ctx.Export("hosts", st.hostsOutput())
	targets := pulumi.Map{}
	for _, g := range st.allShardGroups() {
		targets[g.Name] = g.Targets
	}
	ctx.Export("shardTargetSecurityGroups", targets)
}
