package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/promfed/promfed/components/backup"
	"github.com/promfed/promfed/components/bastion"
	"github.com/promfed/promfed/components/certificate"
	"github.com/promfed/promfed/components/dns"
	"github.com/promfed/promfed/components/edge"
	"github.com/promfed/promfed/components/firewall"
	"github.com/promfed/promfed/components/loadbalancer"
	"github.com/promfed/promfed/components/network"
	"github.com/promfed/promfed/components/prometheus"
	"github.com/promfed/promfed/components/provision"
	"github.com/promfed/promfed/config"
	"github.com/promfed/promfed/internal/pki"
)

// ansibleDir is the tree copied to every host, relative to the project.
const ansibleDir = "ansible"

// stack is what the program exports.
type stack struct {
	URL           string
	AlbDNS        pulumi.StringOutput
	BastionIP     pulumi.StringOutput
	Hosts         map[string]string // host name -> private DNS name
	InstanceIDs   map[string]pulumi.IDOutput
	PrivateIPs    map[string]pulumi.StringOutput
	HostKeys      map[string]string
	CA            string
	InternalZone  string
	SSHUser       string
	AnsibleTree   string
	hostNameOrder []string
}

func build(ctx *pulumi.Context, cfg *config.Config) (*stack, error) {
	tags := cfg.Tags()
	keys, err := pki.New(cfg.HostKeySeed.Reveal(), cfg.Stack)
	if err != nil {
		return nil, err
	}
	ca, err := keys.CA()
	if err != nil {
		return nil, err
	}
	treeHash, err := provision.TreeHash(ansibleDir)
	if err != nil {
		return nil, err
	}

	net, err := network.NewVpc(ctx, cfg.NamePrefix, &network.VpcArgs{
		Cidr: cfg.VpcCidr, AzCount: cfg.AzCount, SubnetPrefixLength: cfg.SubnetPrefixLength,
		NatStrategy: cfg.NatStrategy, FlowLogRetentionDays: cfg.FlowLogRetentionDays, AdminCidrs: cfg.AdminCidrs, Tags: tags,
	})
	if err != nil {
		return nil, err
	}
	// Without Cloudflare the ALB also admits the NAT gateways, so the first
	// secondary can probe the public endpoint as clients see it.
	web, probes := cfg.AllowedCidrs, net.NatPublicIPs
	if cfg.Cloudflare() {
		probes = nil
		if web, err = edge.IPRanges(ctx); err != nil {
			return nil, err
		}
	}
	fw, err := firewall.NewFirewall(ctx, cfg.NamePrefix, &firewall.Args{
		VpcID: net.VpcID, AdminCidrs: cfg.AdminCidrs, WebSources: web, ProbeSources: probes, Tags: tags,
	})
	if err != nil {
		return nil, err
	}

	client := keys.ClientKey()
	bastionKey := keys.HostKey("bastion")
	jump, err := bastion.NewBastion(ctx, "bastion", &bastion.Args{
		InstanceType: cfg.BastionInstanceType, AmiFamily: cfg.AmiFamily, AmiID: cfg.AmiID,
		SubnetID: net.PublicSubnetIDs.Index(pulumi.Int(0)), SecurityGroupID: fw.BastionSG,
		HostKeyPrivate: pulumi.ToSecret(pulumi.String(bastionKey.PrivateKey)).(pulumi.StringOutput),
		HostKeyPublic:  bastionKey.PublicKey, ClientPublicKey: client.PublicKey, Tags: tags,
	})
	if err != nil {
		return nil, err
	}

	servers := map[string]*prometheus.Server{}
	addrs := map[string]pulumi.StringInput{}
	for i, host := range cfg.HostNames() {
		role, instanceType, sg := prometheus.RolePrimary, cfg.PrimaryInstanceType, fw.PrimarySG
		if host != "primary" {
			role, instanceType, sg = prometheus.RoleSecondary, cfg.SecondaryInstanceType, fw.SecondarySG
		}
		hk := keys.HostKey(host)
		az := i % cfg.AzCount // spread hosts over the AZs
		s, err := prometheus.NewServer(ctx, host, &prometheus.ServerArgs{
			Role: role, InstanceType: instanceType, AmiFamily: cfg.AmiFamily, AmiID: cfg.AmiID,
			SubnetID: net.PrivateSubnetIDs.Index(pulumi.Int(az)), AvailabilityZone: net.AvailabilityZones[az],
			SecurityGroupIDs: pulumi.StringArray{fw.MembersSG, sg},
			DataVolumeGiB:    cfg.DataVolumeSizeGiB, Region: cfg.Region, Protect: cfg.Protect,
			HostKeyPrivate: pulumi.ToSecret(pulumi.String(hk.PrivateKey)).(pulumi.StringOutput),
			HostKeyPublic:  hk.PublicKey, ClientPublicKey: client.PublicKey, Tags: tags,
		})
		if err != nil {
			return nil, err
		}
		servers[host], addrs[host] = s, s.PrivateIP
	}
	if _, err := backup.NewSnapshots(ctx, cfg.NamePrefix+"-tsdb", &backup.SnapshotsArgs{
		TargetTags:  map[string]string{prometheus.BackupTag: "true", "promfed:stack": cfg.Stack},
		RetainCount: cfg.SnapshotRetainCount, Time: "03:00", Tags: tags,
	}); err != nil {
		return nil, err
	}
	zone, err := dns.NewPrivateZone(ctx, cfg.NamePrefix+"-internal", &dns.PrivateZoneArgs{
		Zone: cfg.InternalZone, VpcID: net.VpcID, Hosts: addrs, Order: cfg.HostNames(), Tags: tags,
	})
	if err != nil {
		return nil, err
	}

	alb, err := publicEndpoint(ctx, cfg, net, fw, servers["primary"])
	if err != nil {
		return nil, err
	}

	fleet := &provision.Fleet{
		Stack: cfg.Stack, InternalZone: cfg.InternalZone, Hosts: cfg.HostNames(),
		WebUsername: cfg.WebUsername, WebPassword: cfg.WebPassword.Reveal(),
		RetentionTime: cfg.RetentionTime, RetentionSize: cfg.RetentionSize,
		BlackboxTargets: []string{"https://" + cfg.Domain + "/-/healthy"}, BlackboxModule: "https_auth_required", EC2SDRegion: cfg.Region,
		AlertWebhookURL: cfg.AlertWebhookURL.Reveal(), Keys: keys,
	}
	st := &stack{
		URL: "https://" + cfg.Domain, AlbDNS: alb.DNSName, BastionIP: jump.PublicIP, Hosts: zone.Fqdns,
		InstanceIDs: map[string]pulumi.IDOutput{}, PrivateIPs: map[string]pulumi.StringOutput{}, HostKeys: map[string]string{"bastion": bastionKey.PublicKey},
		CA: ca.PEM, InternalZone: cfg.InternalZone, SSHUser: provision.SSHUser, AnsibleTree: treeHash, hostNameOrder: cfg.HostNames(),
	}
	for _, host := range cfg.HostNames() {
		vars, err := fleet.VarsJSON(host)
		if err != nil {
			return nil, err
		}
		if _, err := provision.NewHost(ctx, host, &provision.HostArgs{
			InstanceID: servers[host].InstanceID.ToStringOutput(), Address: servers[host].PrivateIP,
			HostKey:    keys.HostKey(host).PublicKey,
			Bastion:    provision.Bastion{Address: jump.PublicIP, HostKey: bastionKey.PublicKey},
			ClientKey:  pulumi.ToSecret(pulumi.String(client.PrivateKey)).(pulumi.StringOutput),
			VarsJSON:   pulumi.ToSecret(pulumi.String(vars)).(pulumi.StringOutput),
			AnsibleDir: ansibleDir, TreeHash: treeHash, Generation: cfg.ProvisionGeneration,
		}); err != nil {
			return nil, err
		}
		st.InstanceIDs[host], st.PrivateIPs[host] = servers[host].InstanceID, servers[host].PrivateIP
		st.HostKeys[host] = keys.HostKey(host).PublicKey
	}
	return st, nil
}

// publicEndpoint creates the certificate, the ALB and the public name: in
// Route53, or behind Cloudflare with mutual TLS at the ALB.
func publicEndpoint(ctx *pulumi.Context, cfg *config.Config, net *network.Vpc, fw *firewall.Firewall, primary *prometheus.Server) (*loadbalancer.Alb, error) {
	validator := dns.Validator(cfg.Route53ZoneID)
	originCA := ""
	if cfg.Cloudflare() {
		validator, originCA = edge.Validator(cfg.CloudflareZoneID), cfg.OriginPullCa
	}
	cert, err := certificate.NewCertificate(ctx, cfg.NamePrefix+"-endpoint", &certificate.Args{
		Domain: cfg.Domain, Validator: validator, Tags: cfg.Tags(),
	})
	if err != nil {
		return nil, err
	}
	alb, err := loadbalancer.NewAlb(ctx, cfg.NamePrefix, &loadbalancer.AlbArgs{
		Name: cfg.AlbName(), TargetGroupName: cfg.TargetGroupName(), VpcID: net.VpcID, SubnetIDs: net.PublicSubnetIDs,
		SecurityGroupID: fw.AlbSG, CertificateArn: cert.Arn, TLSPolicy: cfg.TLSPolicy,
		TargetInstanceID: primary.InstanceID, TargetPort: firewall.PortPrometheus, OriginPullCA: originCA,
		AccessLogRetentionDay: cfg.AccessLogRetentionDays, Protect: cfg.Protect, Tags: cfg.Tags(),
	})
	if err != nil {
		return nil, err
	}
	if cfg.Cloudflare() {
		_, err = edge.NewCloudflare(ctx, cfg.NamePrefix+"-edge", &edge.CloudflareArgs{
			ZoneID: cfg.CloudflareZoneID, Domain: cfg.Domain, AlbDNS: alb.DNSName, AllowedCidrs: cfg.AllowedCidrs,
			OriginPullCertificate: cfg.OriginPullCertificate,
			OriginPullPrivateKey:  pulumi.ToSecret(pulumi.String(cfg.OriginPullPrivateKey.Reveal())).(pulumi.StringOutput),
			RequestsPerMinute:     600,
		})
	} else {
		_, err = dns.NewPublicRecords(ctx, cfg.NamePrefix+"-endpoint", &dns.PublicRecordsArgs{
			ZoneID: cfg.Route53ZoneID, Domain: cfg.Domain, AlbDNS: alb.DNSName, AlbZoneID: alb.ZoneID,
		})
	}
	return alb, err
}

// export publishes the outputs operators and the inventory command use.
func (s *stack) export(ctx *pulumi.Context) {
	ctx.Export("url", pulumi.String(s.URL))
	ctx.Export("albDnsName", s.AlbDNS)
	ctx.Export("bastionIp", s.BastionIP)
	ctx.Export("sshUser", pulumi.String(s.SSHUser))
	ctx.Export("internalZone", pulumi.String(s.InternalZone))
	ctx.Export("caCertificate", pulumi.String(s.CA))
	ctx.Export("ansibleTreeHash", pulumi.String(s.AnsibleTree))
	hosts := pulumi.Map{}
	for _, h := range s.hostNameOrder {
		hosts[h] = pulumi.Map{
			"fqdn": pulumi.String(s.Hosts[h]), "privateIp": s.PrivateIPs[h], "instanceId": s.InstanceIDs[h],
			"role": pulumi.String(provision.Role(h)), "hostKey": pulumi.String(s.HostKeys[h]),
		}
	}
	ctx.Export("hosts", hosts)
	ctx.Export("bastionHostKey", pulumi.String(s.HostKeys["bastion"]))
}
