package config

// Kind is the type of a configuration value, as Pulumi.yaml declares it.
type Kind string

// The kinds Pulumi.yaml knows.
const (
	KindString  Kind = "string"
	KindInteger Kind = "integer"
	KindBoolean Kind = "boolean"
	KindList    Kind = "array" // a list of strings
	// KindObjects is a list of objects: Pulumi.yaml declares it as an
	// array whose items are objects (structured config, set with --path).
	KindObjects Kind = "array of objects"
)

// Key describes one setting. The table below is the single source of truth for
// names, types, defaults and descriptions: Pulumi.yaml and the README's
// configuration table are checked against it by tests.
type Key struct {
	Name        string
	Kind        Kind
	Default     string // "" means no default; lists use a JSON array
	Secret      bool
	Description string
}

// Keys lists every setting of the promfed project.
var Keys = []Key{
	{"namePrefix", KindString, "promfed", false, "Prefix of every AWS name; with the stack name it must fit AWS name limits (ALB and target group names: 32 characters)."},
	{"vpcCidr", KindString, "10.40.0.0/16", false, "IPv4 CIDR of the VPC, /16 to /24."},
	{"azCount", KindInteger, "2", false, "Availability zones to spread subnets over (2-6)."},
	{"layout", KindString, "stable", false, "How subnets and hosts map to zones. stable: a zone's subnets and a host's zone depend on nothing but their own index, so raising azCount or adding a shard or a secondary only adds resources. legacy: the numbering of releases before it (private subnets after all public ones, hosts round-robin over every zone), for stacks created with them."},
	{"subnetPrefixLength", KindInteger, "24", false, "Prefix length of every subnet; one public and one private subnet per AZ must fit in vpcCidr."},
	{"natStrategy", KindString, "single", false, "Outbound access for private subnets: single (one NAT gateway) or per-az (one per AZ). none is refused: the hosts install packages and read SSM over it."},
	{"flowLogRetentionDays", KindInteger, "90", false, "Retention of VPC flow logs in CloudWatch Logs (a value CloudWatch accepts)."},
	{"sessionLogRetentionDays", KindInteger, "365", false, "Retention of the encrypted Session Manager session logs in CloudWatch Logs (a value CloudWatch accepts)."},
	{"primaryReplicas", KindInteger, "1", false, "Primary Prometheus replicas, 1 or 2 (primary-a, primary-b): each in its own AZ federating every shard, both behind the ALB, with a clustered Alertmanager and each watching the other."},
	{"primaryInstanceType", KindString, "t3.medium", false, "EC2 instance type of each primary Prometheus replica."},
	{"secondaryInstanceType", KindString, "t3.medium", false, "EC2 instance type of each secondary Prometheus."},
	{"bastionInstanceType", KindString, "t3.micro", false, "EC2 instance type of the SSH bastion."},
	{"amiFamily", KindString, DefaultAMIFamily, false, "OS image looked up when amiId is empty: debian-13 (Debian's current stable) or debian-12, the images the end-to-end suite converges (Ubuntu images are not offered: none is tested). Changing it does not replace running hosts: the looked-up image is ignored once a host exists; a replaced or new host boots the new family."},
	{"amiId", KindString, "", false, "Pin an AMI id (ami-...) instead of looking one up."},
	{"shards", KindObjects, `[{"name":"main","secondaries":1}]`, false, "Groups of secondaries and what each scrapes (EC2 and DNS discovery, static targets, probes), optionally in another region (region, with regionVpcCidrs); see Monitor your services. 1-10 shards, 1-10 secondaries each, 20 in all."},
	{"dataVolumeSizeGiB", KindInteger, "50", false, "Size of each host's encrypted gp3 TSDB volume (10-16384 GiB). Raising it grows the volumes in place and, on the same up, their filesystems (the playbook re-runs); EBS cannot shrink."},
	{"retentionTime", KindString, "15d", false, "Prometheus TSDB retention time (a Prometheus duration such as 15d)."},
	{"retentionSize", KindString, "", false, "Prometheus TSDB retention size such as 40GB; empty means unlimited."},
	{"snapshotCopyRegion", KindString, "", false, "A second AWS region every daily snapshot is copied to by Data Lifecycle Manager (encrypted with that region's default EBS key, kept snapshotRetainCount days), for a restore after the loss of the home region (docs/dr.md). Empty: no copies."},
	{"regionVpcCidrs", KindObjects, "[]", false, "Other regions' VPC CIDRs, as [{region, vpcCidr}]: one entry per region that a shard names in shards[i].region (docs/regions.md). Each VPC is peered with the stack's, so its CIDR must overlap neither vpcCidr, nor another region's, nor a shard's peer.cidr, and is checked like vpcCidr. Never derived: a missing entry is refused with a free block to use."},
	{"restoreSnapshots", KindObjects, "[]", false, "Hosts whose data volume is made from an EBS snapshot, as [{host, snapshot}] (docs/runbooks.md, Restore a data volume from a snapshot). That host's volume, its attachment and the instance (its user data names the volume) are replaced and provisioned again; nothing else moves. Data written since the snapshot goes with the old volume (a final snapshot when protect is true, which needs pulumi state unprotect on the volume first). Removing the entry afterwards changes nothing."},
	{"ampRemoteWrite", KindString, "", false, "Send series to an Amazon Managed Service for Prometheus workspace the stack creates (encrypted with its own key, logging on), with remote_write signed by each writer's instance role (docs/amp.md). aggregates: the primaries send the federate:* aggregates. raw: the secondaries send their raw series (up always among them), which AMP deduplicates per shard (cluster = shard, __replica__ = host). Empty: no workspace."},
	{"ampWriteMatch", KindString, "", false, "Regular expression on metric names that remote_write keeps (RE2, anchored); empty: federate:.+ for aggregates, every series for raw. With aggregates it must match one of the stack's federate:* recording rules."},
	{"snapshotRetainCount", KindInteger, "7", false, "Daily EBS snapshots of the TSDB volumes kept by Data Lifecycle Manager (1-1000)."},
	{"adminCidrs", KindList, "", false, "CIDRs allowed to SSH to the bastion; 0.0.0.0/0 and ::/0 are refused. Required."},
	{"allowedCidrs", KindList, "[]", false, "CIDRs allowed to reach the endpoint, every path: the ALB's security group and AWS WAF, or Cloudflare's WAF when dnsProvider is cloudflare. The NAT gateways are added for the endpoint probe."},
	{"requestsPerMinute", KindInteger, "600", false, "Each client address's request budget at the edge (AWS WAF rate rule or Cloudflare rate limit), 10-100000."},
	{"cloudflarePlan", KindString, "pro", false, "Plan of the Cloudflare zone (free, pro, business, enterprise): decides what the rate-limit rule may use (free: path only, 10 s period and timeout)."},
	{"domain", KindString, "", false, "Public name of the federation endpoint, for example prometheus.example.com. Required."},
	{"dnsProvider", KindString, "route53", false, "Who holds the public zone: route53 or cloudflare (cloudflare also turns on the Cloudflare edge)."},
	{"route53ZoneId", KindString, "", false, "Route53 hosted zone id of the public zone; required when dnsProvider is route53."},
	{"cloudflareZoneId", KindString, "", false, "Cloudflare zone id (32 hex characters); required when dnsProvider is cloudflare."},
	{"originPullCa", KindString, "", false, "PEM CA that signed originPullCertificate; the ALB trusts only it (mutual TLS). Required with cloudflare."},
	{"originPullCertificate", KindString, "", false, "PEM client certificate Cloudflare presents to the ALB (authenticated origin pulls). Required with cloudflare."},
	{"originPullPrivateKey", KindString, "", true, "PEM private key of originPullCertificate. Secret; required with cloudflare."},
	{"tlsPolicy", KindString, "ELBSecurityPolicy-TLS13-1-2-2021-06", false, "ALB TLS policy; only TLS 1.3 policies are accepted."},
	{"internalZone", KindString, "", false, "Private Route53 zone for host names; empty means <stack>.promfed.internal."},
	{"webUsername", KindString, "promfed", false, "Basic-auth user of every Prometheus web endpoint."},
	{"webPassword", KindString, "", true, "Basic-auth password (at least 16 characters). Secret; required."},
	{"hostKeySeed", KindString, "", true, "Seed (at least 32 characters) from which SSH host keys, the provisioning key and the stack CA are derived. Secret; required."},
	{"alertEmails", KindList, "[]", false, "Email addresses subscribed to the stack's alert topic (SNS; each confirms by mail)."},
	{"alertHttpsEndpoints", KindList, "[]", false, "https:// endpoints subscribed to the stack's alert topic (SNS)."},
	{"heartbeatUrl", KindString, "", true, "Dead-man's-switch URL (https): the always-firing Watchdog alert is posted there every few minutes, and the external service pages when the heartbeats stop (the primary, Prometheus or Alertmanager is down). Empty means none. Secret because such URLs carry tokens."},
	{"alertWebhookUrl", KindString, "", true, "Alertmanager webhook receiver URL (https); empty means none. Secret because such URLs carry tokens."},
	{"slackWebhookUrl", KindString, "", true, "Slack incoming-webhook URL for alerts; empty means none. Secret."},
	{"slackChannel", KindString, "", false, "Slack channel for alerts, for example #alerts; empty uses the webhook's default channel."},
	{"pagerDutyRoutingKey", KindString, "", true, "PagerDuty Events API v2 integration key; critical alerts page. Empty means none. Secret."},
	{"accessLogRetentionDays", KindInteger, "90", false, "Days ALB access logs are kept in S3 (1-3650)."},
	{"faultInjection", KindBoolean, "false", false, "Create AWS Fault Injection Service experiment templates for game days (docs/dr.md): stop one secondary, stop one primary replica, cut the second zone's private subnet off; each stops when the endpoint has no healthy target, and runs as a role limited to the stack's tagged instances and VPC. Nothing runs until an operator starts one."},
	{"grafanaWorkspace", KindBoolean, "false", false, "Create an Amazon Managed Grafana workspace for the dashboards (docs/amp.md, Grafana): sign-in through IAM Identity Center (enabled in the account), a role of its own that may query the stack's AMP workspace (ampRemoteWrite) and nothing else. Load dashboards/*.json into it."},
	{"inspector", KindBoolean, "false", false, "Turn on Amazon Inspector EC2 vulnerability scanning for the account and region (account-wide: leave off where the account already scans)."},
	{"protect", KindBoolean, "false", false, "Production safety: ALB deletion protection, protected data volumes and log bucket, final snapshots. Needs an alert receiver (alertEmails, alertHttpsEndpoints, alertWebhookUrl, slackWebhookUrl, pagerDutyRoutingKey or a shard's alertEmails)."},
	{"provisionGeneration", KindInteger, "0", false, "Bump to re-run provisioning on every host without other changes."},
}

// lookupKey returns the table entry for name.
func lookupKey(name string) Key {
	for _, k := range Keys {
		if k.Name == name {
			return k
		}
	}
	panic("config: unknown key " + name) // programming error: every caller names a table key
}

// Required keys have no default: the stack must set them.
var Required = map[string]bool{"domain": true, "adminCidrs": true, "webPassword": true, "hostKeySeed": true}
