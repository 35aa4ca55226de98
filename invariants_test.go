package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/promfed/promfed/components/network"
	"github.com/promfed/promfed/config"
	"github.com/promfed/promfed/internal/contract"
	"github.com/promfed/promfed/internal/pki"
	"github.com/promfed/promfed/internal/testmocks"
)

// Program-wide invariants: each row holds for EVERY resource of a type in
// every configuration below, whichever component creates it, so moving a
// resource between components cannot lose a control. Each row says why it
// must hold.

// invariantRun is one program run and the facts the checks compare with.
type invariantRun struct {
	name string
	m    *testmocks.Mocks
	cfg  map[string]string
	// loaded is the same configuration as the program loaded it.
	loaded *config.Config
	// secrets are values that must only ever appear inside secret inputs.
	secrets []string
}

type invariant struct {
	name, why string
	check     func(r invariantRun) []string
}

var invariants = []invariant{
	{"instance-imdsv2", "IMDSv1 lets any SSRF on a host read its role credentials (EC2.8)", checkIMDSv2},
	{"instance-root-encrypted", "root volumes hold host keys and configuration at rest (EC2.3)", checkRootEncrypted},
	{"volume-encrypted", "the TSDB volumes hold every scraped series at rest (EC2.7)", checkVolumesEncrypted},
	{"instance-private", "only the bastion may be reachable from the internet; every other host sits in a private subnet without a public address (EC2.9)", checkPrivatePlacement},
	{"user-data-clean", "user data is readable with ec2:DescribeInstanceAttribute and by any local user through the metadata service: it carries no private key, no secret value, and is plain so reviewers see it in previews", checkUserData},
	{"instance-recovery", "every instance is watched by CloudWatch, not only by Prometheus: a failed system check recovers it and notifies the alert topic, a failed instance check notifies", checkRecovery},
	{"instance-ami-stable", "a looked-up AMI must never replace a running host: ignoreChanges [ami] unless pinned", checkAmiIgnored},
	{"attachment-dbr", "a data volume attachment is deleted before its replacement, so a replaced host gets the same volume", checkAttachments},
	{"vpc-flow-logs", "every VPC records all traffic (EC2.6)", checkFlowLogs},
	{"cidr-rules", "a security-group rule by CIDR opens only 443/80 to the web sources and NAT, 22 to adminCidrs, and egress to 443/80 or a peer's scrape ports", checkCidrRules},
	{"iam-scoped", "no Allow grants a wildcard action, and resource * only for read-only actions AWS cannot scope", checkIAM},
	{"iam-layout", "every role and instance profile lies under /<namePrefix>/<stack>/, is named <namePrefix>-<stack>-*, and every role carries the bootstrap boundary: the only IAM the stack's deploy role may write", checkIAMLayout},
	{"managed-policies", "roles get only the AWS-managed policies listed here", checkManagedPolicies},
	{"s3-locked", "every bucket blocks public access, refuses plain HTTP and is encrypted", checkBuckets},
	{"tags", "every taggable AWS resource carries the stack tags, so cost and ownership are traceable", checkTags},
	{"remote-commands", "every remote step pins host keys (no trust on first use), is bounded in time and runs only on hash changes", checkRemoteCommands},
	{"secrets-secret", "secret config values and derived private keys appear only inside secret inputs, never in plain state", checkSecretsStaySecret},
}

// invariantConfigs are the stack files and edits of them: Cloudflare on
// and off, one and several shards, with and without peering, a shard in
// another region, and the AMP workspace in both modes (with the Grafana
// workspace reading it).
func invariantConfigs() map[string]struct {
	stack string
	edit  func(map[string]string)
} {
	return map[string]struct {
		stack string
		edit  func(map[string]string)
	}{
		"dev":  {"dev", nil},
		"prod": {"prod", nil},
		"dev-three-shards": {"dev", func(c map[string]string) {
			c["promfed:shards"] = `[{"name":"a","secondaries":2,"static":[{"job":"x","targets":["10.9.0.1:8080"]}]},` +
				`{"name":"b","secondaries":1,"dns":[{"job":"y","names":["b.example.internal"],"port":9100}],"probes":[{"url":"db.example.com:5432","module":"tcp_connect"}]},` +
				`{"name":"c","secondaries":1,"peer":{"vpcId":"vpc-0123456789abcdef1","cidr":"10.70.0.0/16","routeTableIds":["rtb-0123456789abcdef1"]},"static":[{"job":"z","targets":["10.70.0.5:9187"]}]}]`
			c["promfed:ampRemoteWrite"] = "raw"
		}},
		"prod-us-east-1": {"prod", withUSShard(false)},
		"dev-us-east-1-first": {"dev", func(c map[string]string) {
			withUSShard(true)(c)
			c["promfed:ampRemoteWrite"] = "raw"
		}},
		"prod-route53": {"prod", func(c map[string]string) {
			c["promfed:dnsProvider"], c["promfed:route53ZoneId"] = "route53", "Z0123456789EXAMPLE"
			c["promfed:shards"] = `[{"name":"main","secondaries":1}]`
			c["promfed:ampRemoteWrite"] = "aggregates"
			c["promfed:grafanaWorkspace"] = "true"
		}},
	}
}

func TestProgramInvariants(t *testing.T) {
	for cname, c := range invariantConfigs() {
		cfg, secretKeys := stackConfig(t, c.stack)
		if c.edit != nil {
			c.edit(cfg)
		}
		m, err := testmocks.Run("promfed", c.stack, cfg, secretKeys, program)
		if err != nil {
			t.Fatalf("%s: %v", cname, err)
		}
		run := invariantRun{name: cname, m: m, cfg: cfg, loaded: loadConfig(t, c.stack, cfg, secretKeys)}
		for _, k := range secretKeys {
			run.secrets = append(run.secrets, cfg[k])
		}
		keys, err := pki.New(cfg["promfed:hostKeySeed"], c.stack)
		if err != nil {
			t.Fatal(err)
		}
		run.secrets = append(run.secrets, keys.ClientKey().PrivateKey, keys.HostKey("bastion").PrivateKey)
		for _, h := range []string{"primary-a", "primary-b", "secondary-apps-1"} {
			run.secrets = append(run.secrets, keys.HostKey(h).PrivateKey)
		}
		for _, inv := range invariants {
			for _, p := range inv.check(run) {
				t.Errorf("%s: %s (%s): %s", cname, inv.name, inv.why, p)
			}
		}
	}
}

// loadConfig loads a run's configuration the way the program does.
func loadConfig(t *testing.T, stack string, cfg map[string]string, secretKeys []string) *config.Config {
	t.Helper()
	values, secrets := map[string]string{}, map[string]bool{}
	for k, v := range cfg {
		if name, ok := strings.CutPrefix(k, "promfed:"); ok {
			values[name] = v
		}
	}
	for _, k := range secretKeys {
		secrets[strings.TrimPrefix(k, "promfed:")] = true
	}
	c, err := config.Load("promfed", stack, cfg["aws:region"], config.MapSource{Values: values, Secrets: secrets})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// ---- instances and volumes ----

// instances returns every instance, or notes that there is none (a check
// over nothing would pass vacuously).
func instances(r invariantRun, out *[]string) []testmocks.Resource {
	is := r.m.OfType("aws:ec2/instance:Instance")
	if len(is) == 0 {
		*out = append(*out, "no instance at all: the check would be vacuous")
	}
	return is
}

func checkIMDSv2(r invariantRun) (out []string) {
	for _, i := range instances(r, &out) {
		md, _ := i.Get("metadataOptions").(map[string]any)
		if md["httpTokens"] != "required" {
			out = append(out, fmt.Sprintf("instance %s metadata options %v", i.Name, md))
		}
	}
	return out
}

func checkRootEncrypted(r invariantRun) (out []string) {
	for _, i := range instances(r, &out) {
		if root, _ := i.Get("rootBlockDevice").(map[string]any); root["encrypted"] != true {
			out = append(out, fmt.Sprintf("instance %s root volume %v", i.Name, root))
		}
	}
	return out
}

func checkVolumesEncrypted(r invariantRun) (out []string) {
	vols := r.m.OfType("aws:ebs/volume:Volume")
	if len(vols) == 0 {
		out = append(out, "no EBS volume at all: the check would be vacuous")
	}
	for _, v := range vols {
		if v.Get("encrypted") != true {
			out = append(out, "volume "+v.Name+" is not encrypted")
		}
	}
	return out
}

// publicSubnets are the subnets whose route table sends traffic to an
// internet gateway: found from the resources, not from names.
func publicSubnets(m *testmocks.Mocks) map[string]bool {
	igws := map[string]bool{}
	for _, g := range m.OfType("aws:ec2/internetGateway:InternetGateway") {
		igws[g.Name+"-id"] = true
	}
	toIGW := map[string]bool{}
	for _, rt := range m.OfType("aws:ec2/routeTable:RouteTable") {
		routes, _ := rt.Get("routes").([]any)
		for _, rr := range routes {
			if gw, _ := rr.(map[string]any)["gatewayId"].(string); igws[gw] {
				toIGW[rt.Name+"-id"] = true
			}
		}
	}
	for _, route := range m.OfType("aws:ec2/route:Route") {
		if igws[route.Str("gatewayId")] {
			toIGW[route.Str("routeTableId")] = true
		}
	}
	out := map[string]bool{}
	for _, a := range m.OfType("aws:ec2/routeTableAssociation:RouteTableAssociation") {
		if toIGW[a.Str("routeTableId")] {
			out[a.Str("subnetId")] = true
		}
	}
	return out
}

func checkPrivatePlacement(r invariantRun) (out []string) {
	public := publicSubnets(r.m)
	if len(public) == 0 {
		return []string{"no public subnet found: the check would be vacuous"}
	}
	withEIP := map[string]bool{}
	for _, a := range r.m.OfType("aws:ec2/eipAssociation:EipAssociation") {
		withEIP[a.Str("instanceId")] = true
	}
	if len(withEIP) != 1 {
		out = append(out, fmt.Sprintf("%d instances hold an Elastic IP; only the bastion may", len(withEIP)))
	}
	subnets := map[string]bool{}
	for _, s := range r.m.OfType("aws:ec2/subnet:Subnet") {
		subnets[s.Name+"-id"] = true
		if s.Get("mapPublicIpOnLaunch") == true {
			out = append(out, "subnet "+s.Name+" maps public IPs on launch")
		}
	}
	for _, i := range r.m.OfType("aws:ec2/instance:Instance") {
		sn := i.Str("subnetId")
		switch {
		case !subnets[sn]:
			out = append(out, fmt.Sprintf("instance %s is in subnet %q, which the program does not create", i.Name, sn))
		case i.Get("associatePublicIpAddress") != false:
			out = append(out, "instance "+i.Name+" may get a public IP")
		case withEIP[i.Name+"-id"]:
		case public[sn]:
			out = append(out, fmt.Sprintf("instance %s sits in the public subnet %s", i.Name, sn))
		}
	}
	return out
}

func checkUserData(r invariantRun) (out []string) {
	for _, inst := range instances(r, &out) {
		ud := inst.Str("userData")
		if ud == "" || inst.IsSecret("userData") {
			out = append(out, fmt.Sprintf("%s: user data is empty or secret", inst.Name))
		}
		if strings.Contains(ud, "-----BEGIN") {
			out = append(out, fmt.Sprintf("%s: user data holds a PEM block", inst.Name))
		}
		for _, s := range r.secrets {
			if strings.Contains(ud, s) {
				out = append(out, fmt.Sprintf("%s: user data holds a secret value (%d characters)", inst.Name, len(s)))
			}
		}
	}
	return out
}

func checkRecovery(r invariantRun) (out []string) {
	byInstance := map[string][]testmocks.Resource{}
	for _, a := range r.m.OfType("aws:cloudwatch/metricAlarm:MetricAlarm") {
		if id, ok := a.Get("dimensions").(map[string]any)["InstanceId"].(string); ok {
			byInstance[id] = append(byInstance[id], a)
		}
	}
	for _, inst := range instances(r, &out) {
		metrics := map[string]testmocks.Resource{}
		for _, a := range byInstance[inst.Name+"-id"] {
			metrics[a.Str("metricName")] = a
		}
		// Recovered and notified in the instance's own region: an alarm
		// acts only there.
		sys, ok := metrics["StatusCheckFailed_System"]
		region := r.m.Region(inst, r.loaded.Region)
		actions := fmt.Sprint(sys.Get("alarmActions"))
		if !ok || !strings.Contains(actions, ":automate:"+region+":ec2:recover") || !notifiesIn(r, actions, region) {
			out = append(out, fmt.Sprintf("%s: no system-check alarm that recovers it and notifies in %s (%s)", inst.Name, region, actions))
		}
		if _, ok := metrics["StatusCheckFailed_Instance"]; !ok {
			out = append(out, fmt.Sprintf("%s: no instance-check alarm", inst.Name))
		}
	}
	return out
}

// notifiesIn tells whether alarm actions name an alert topic of the region.
func notifiesIn(r invariantRun, actions, region string) bool {
	for _, action := range strings.Fields(strings.Trim(actions, "[]")) {
		for _, t := range r.m.OfType("aws:sns/topic:Topic") {
			if strings.Contains(t.Name, "alerts") && strings.HasSuffix(action, ":topic/"+t.Name) {
				return r.m.Region(t, r.loaded.Region) == region
			}
		}
	}
	return false
}

func checkAmiIgnored(r invariantRun) (out []string) {
	pinned := r.cfg["promfed:amiId"] != ""
	for _, i := range instances(r, &out) {
		if got := strings.Join(i.IgnoreChanges, ","); !pinned && got != "ami" {
			out = append(out, fmt.Sprintf("instance %s ignoreChanges %q, want ami", i.Name, got))
		}
	}
	return out
}

func checkAttachments(r invariantRun) (out []string) {
	att := r.m.OfType("aws:ec2/volumeAttachment:VolumeAttachment")
	if len(att) != len(r.m.OfType("aws:ebs/volume:Volume")) {
		out = append(out, fmt.Sprintf("%d attachments for %d volumes", len(att), len(r.m.OfType("aws:ebs/volume:Volume"))))
	}
	for _, a := range att {
		if !a.DeleteBeforeReplace || a.Get("stopInstanceBeforeDetaching") != true {
			out = append(out, fmt.Sprintf("attachment %s deleteBeforeReplace=%v stopInstanceBeforeDetaching=%v", a.Name, a.DeleteBeforeReplace, a.Get("stopInstanceBeforeDetaching")))
		}
	}
	return out
}

func checkFlowLogs(r invariantRun) (out []string) {
	logged := map[string]bool{}
	for _, f := range r.m.OfType("aws:ec2/flowLog:FlowLog") {
		if f.Str("trafficType") == "ALL" {
			logged[f.Str("vpcId")] = true
		}
	}
	for _, v := range r.m.OfType("aws:ec2/vpc:Vpc") {
		if !logged[v.Name+"-id"] {
			out = append(out, "VPC "+v.Name+" has no ALL-traffic flow log")
		}
	}
	return out
}

// ---- network exposure ----

func jsonList(s string) []string {
	var out []string
	_ = json.Unmarshal([]byte(s), &out)
	return out
}

func checkCidrRules(r invariantRun) (out []string) {
	web := jsonList(r.cfg["promfed:allowedCidrs"])
	if r.cfg["promfed:dnsProvider"] == "cloudflare" {
		web = []string{"173.245.48.0/20", "103.21.244.0/22", "2400:cb00::/32", "2606:4700::/32"} // the mocked ranges
	}
	admin := jsonList(r.cfg["promfed:adminCidrs"])
	nat := map[string]bool{}
	for _, e := range r.m.OfType("aws:ec2/eip:Eip") {
		if strings.Contains(e.Name, "-nat-") {
			nat["198.51.100.7/32"] = true // the mocked Elastic IP address
		}
	}
	peers, probePorts := map[string]bool{}, map[float64]bool{}
	for _, s := range r.loaded.Shards {
		if s.Peer != nil {
			peers[s.Peer.Cidr.String()] = true
		}
		for _, p := range s.ProbePorts() {
			probePorts[float64(p)] = true
		}
	}
	in := func(list []string, s string) bool {
		for _, x := range list {
			if x == s {
				return true
			}
		}
		return false
	}
	for _, kind := range []string{"Ingress", "Egress"} {
		for _, rule := range r.m.OfType(fmt.Sprintf("aws:vpc/securityGroup%sRule:SecurityGroup%sRule", kind, kind)) {
			cidr := rule.Str("cidrIpv4") + rule.Str("cidrIpv6")
			if cidr == "" {
				continue
			}
			from, to := rule.Get("fromPort"), rule.Get("toPort")
			port, _ := from.(float64)
			if from == to && crossRegion(r, rule, kind, int(port), cidr) {
				continue
			}
			ok := from == to
			switch {
			case !ok:
			case kind == "Ingress" && (port == 443 || port == 80):
				ok = in(web, cidr) || (port == 443 && nat[cidr])
			case kind == "Ingress" && port == contract.PortSSH:
				ok = in(admin, cidr)
			case kind == "Egress" && (port == 443 || port == 80 || probePorts[port]):
				ok = cidr == "0.0.0.0/0"
			case kind == "Egress":
				ok = peers[cidr]
			default:
				ok = false
			}
			if !ok {
				out = append(out, fmt.Sprintf("%s rule %s: port %v-%v %s", kind, rule.Name, from, to, cidr))
			}
		}
	}
	return out
}

// crossRegion tells a rule between the home VPC and another region's,
// where groups cannot refer to groups: at home, SSH and federation out to
// the other VPC and its watcher's node_exporter scrape in; there, SSH in
// from the bastion's subnet only, federation in and node_exporter out to
// the subnets the primaries run in only.
func crossRegion(r invariantRun, rule testmocks.Resource, kind string, port int, cidr string) bool {
	c := r.loaded
	if len(c.RegionCidrs) == 0 {
		return false
	}
	public, private, err := network.SubnetPlan(c.VpcCidr, c.AzCount, c.SubnetPrefixLength, c.StableLayout)
	if err != nil {
		return false
	}
	// Only the subnets primaries run in, not every private one.
	primaries := slices.ContainsFunc(config.OfRole(c.Hosts, contract.RolePrimary), func(h config.Host) bool { return private[h.AZIndex].String() == cidr })
	if r.m.Region(rule, c.Region) == c.Region {
		other := false
		for _, p := range c.RegionCidrs {
			other = other || p.String() == cidr
		}
		return other && ((kind == "Egress" && (port == contract.PortSSH || port == contract.PortPrometheus)) ||
			(kind == "Ingress" && port == contract.PortNodeExporter))
	}
	switch {
	case kind == "Ingress" && port == contract.PortSSH:
		return cidr == public[0].String()
	case kind == "Ingress" && port == contract.PortPrometheus, kind == "Egress" && port == contract.PortNodeExporter:
		return primaries
	}
	return false
}

// ---- IAM ----

// unscopable are read-only actions AWS offers no resource-level permission
// for; only they may be granted on resource "*".
var unscopable = map[string]bool{"ec2:DescribeInstances": true, "ec2:DescribeAvailabilityZones": true}

func asStrings(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, fmt.Sprint(e))
		}
		return out
	}
	return nil
}

// policyProblems checks one policy document.
// policyProblems checks one document. In a key policy (selfStar) the
// resource "*" means the key itself, so only the principals scope it.
func policyProblems(where, doc string, selfStar bool) (out []string) {
	var p struct {
		Statement []map[string]any `json:"Statement"`
	}
	if err := json.Unmarshal([]byte(doc), &p); err != nil || len(p.Statement) == 0 {
		return []string{fmt.Sprintf("%s: not a policy document: %.80s", where, doc)}
	}
	for _, st := range p.Statement {
		if st["Effect"] != "Allow" {
			continue // a Deny only takes access away
		}
		actions := asStrings(st["Action"])
		for _, a := range actions {
			if a == "*" || strings.HasSuffix(a, ":*") || strings.Contains(a, "*") {
				out = append(out, fmt.Sprintf("%s: wildcard action %s", where, a))
			}
		}
		if _, trust := st["Principal"]; trust && (len(asStrings(st["Resource"])) == 0 || selfStar) {
			continue // a trust policy names who may assume the role; a key policy who may use the key
		}
		for _, res := range asStrings(st["Resource"]) {
			if res != "*" {
				continue
			}
			for _, a := range actions {
				if !unscopable[a] {
					out = append(out, fmt.Sprintf("%s: %s on resource *", where, a))
				}
			}
		}
	}
	return out
}

func checkIAM(r invariantRun) (out []string) {
	n := 0
	for _, c := range []struct{ typ, key string }{
		{"aws:iam/rolePolicy:RolePolicy", "policy"}, {"aws:iam/policy:Policy", "policy"},
		{"aws:iam/role:Role", "assumeRolePolicy"}, {"aws:s3/bucketPolicy:BucketPolicy", "policy"},
		{"aws:kms/key:Key", "policy"}, {"aws:sns/topicPolicy:TopicPolicy", "policy"},
	} {
		for _, res := range r.m.OfType(c.typ) {
			doc := res.Str(c.key)
			if doc == "" {
				continue
			}
			n++
			out = append(out, policyProblems(res.Type+" "+res.Name, doc, c.typ == "aws:kms/key:Key")...)
		}
	}
	if n == 0 {
		out = append(out, "no policy document found: the check would be vacuous")
	}
	return out
}

func checkIAMLayout(r invariantRun) (out []string) {
	np, stack := r.loaded.NamePrefix, r.loaded.Stack
	boundary := contract.BoundaryPolicyARN("aws", "123456789012", np)
	n := 0
	for _, typ := range []string{"aws:iam/role:Role", "aws:iam/instanceProfile:InstanceProfile"} {
		for _, res := range r.m.OfType(typ) {
			n++
			name, path := res.Str("name"), res.Str("path")
			if !strings.HasPrefix(name, np+"-"+stack+"-") || len(name) > contract.IAMNameMaxLen {
				out = append(out, fmt.Sprintf("%s %s: name %q is not %s-%s-* within %d characters", typ, res.Name, name, np, stack, contract.IAMNameMaxLen))
			}
			if path != contract.IAMPath(np, stack) {
				out = append(out, fmt.Sprintf("%s %s: path %q, want %q", typ, res.Name, path, contract.IAMPath(np, stack)))
			}
			if typ == "aws:iam/role:Role" && res.Str("permissionsBoundary") != boundary {
				out = append(out, fmt.Sprintf("%s: permissions boundary %q, want %q", res.Name, res.Str("permissionsBoundary"), boundary))
			}
		}
	}
	if n == 0 {
		out = append(out, "no role or instance profile: the check would be vacuous")
	}
	return out
}

var allowedManagedPolicies = map[string]bool{
	"arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore":                    true,
	"arn:aws:iam::aws:policy/service-role/AWSDataLifecycleManagerServiceRole": true,
}

func checkManagedPolicies(r invariantRun) (out []string) {
	for _, a := range r.m.OfType("aws:iam/rolePolicyAttachment:RolePolicyAttachment") {
		if !allowedManagedPolicies[a.Str("policyArn")] {
			out = append(out, fmt.Sprintf("%s attaches %s", a.Name, a.Str("policyArn")))
		}
	}
	return out
}

// ---- storage ----

func checkBuckets(r invariantRun) (out []string) {
	byBucket := func(typ string) map[string]testmocks.Resource {
		m := map[string]testmocks.Resource{}
		for _, x := range r.m.OfType(typ) {
			m[x.Str("bucket")] = x
		}
		return m
	}
	pab := byBucket("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
	pol := byBucket("aws:s3/bucketPolicy:BucketPolicy")
	sse := byBucket("aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2")
	buckets := r.m.OfType("aws:s3/bucketV2:BucketV2")
	if len(buckets) == 0 {
		out = append(out, "no bucket: the check would be vacuous")
	}
	for _, b := range buckets {
		id := b.Name + "-id"
		if p, ok := pab[id]; !ok {
			out = append(out, "bucket "+b.Name+" has no public access block")
		} else {
			for _, k := range []string{"blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"} {
				if p.Get(k) != true {
					out = append(out, fmt.Sprintf("bucket %s: %s = %v", b.Name, k, p.Get(k)))
				}
			}
		}
		if p, ok := pol[id]; !ok || !strings.Contains(p.Str("policy"), `"aws:SecureTransport":"false"`) || !strings.Contains(p.Str("policy"), `"Effect":"Deny"`) {
			out = append(out, "bucket "+b.Name+" does not deny plain HTTP")
		}
		if _, ok := sse[id]; !ok {
			out = append(out, "bucket "+b.Name+" has no encryption configuration")
		}
	}
	return out
}

// ---- tags ----

func checkTags(r invariantRun) (out []string) {
	n := 0
	for _, res := range r.m.Resources {
		if !res.Custom || !strings.HasPrefix(res.Type, "aws:") || untaggable[res.Type] {
			continue
		}
		n++
		tags := res.Tags()
		if tags[contract.TagStack] != r.loaded.Stack || tags[contract.TagProject] != "promfed" || tags[contract.TagManagedBy] != "pulumi" || tags["Name"] == nil {
			out = append(out, fmt.Sprintf("%s %s tags %v, want the stack tags of %s", res.Type, res.Name, tags, r.loaded.Stack))
		}
	}
	if n == 0 {
		out = append(out, "no taggable resource: the check would be vacuous")
	}
	return out
}

// ---- provisioning ----

var hexHash = regexp.MustCompile(`^[0-9a-f]{64}$`)

func checkRemoteCommands(r invariantRun) (out []string) {
	n := 0
	for _, typ := range []string{"command:remote:Command", "command:remote:CopyToRemote"} {
		for _, c := range r.m.OfType(typ) {
			n++
			conn, _ := c.Get("connection").(map[string]any)
			proxy, _ := conn["proxy"].(map[string]any)
			if s, _ := conn["hostKey"].(string); !strings.HasPrefix(s, "ssh-ed25519 ") {
				out = append(out, c.Name+": the host key is not pinned")
			}
			if s, _ := proxy["hostKey"].(string); !strings.HasPrefix(s, "ssh-ed25519 ") {
				out = append(out, c.Name+": the bastion's host key is not pinned")
			}
			if c.CreateTimeout == "" {
				out = append(out, c.Name+": no create timeout")
			}
			var triggers []any
			if tv, ok := c.Inputs["triggers"]; ok && tv.IsArray() {
				for _, e := range tv.ArrayValue() {
					triggers = append(triggers, testmocks.Value(e))
				}
			}
			if len(triggers) == 0 {
				out = append(out, c.Name+": no triggers (it would never re-run on a replaced host)")
			}
			for _, tr := range triggers {
				switch v := tr.(type) {
				case string:
					if !hexHash.MatchString(v) {
						out = append(out, fmt.Sprintf("%s: trigger %.20q is not a hash", c.Name, v))
					}
				case float64: // provisionGeneration
				default:
					out = append(out, fmt.Sprintf("%s: trigger %v is neither a hash nor the generation", c.Name, tr))
				}
			}
		}
	}
	if n == 0 {
		out = append(out, "no remote command: the check would be vacuous")
	}
	return out
}

// ---- secrets ----

// plainLeaks lists where a secret value shows in a non-secret part of v.
func plainLeaks(path string, v resource.PropertyValue, secrets []string) []string {
	switch {
	case v.IsSecret():
		return nil
	case v.IsOutput():
		if v.OutputValue().Secret {
			return nil
		}
		return plainLeaks(path, v.OutputValue().Element, secrets)
	case v.IsString():
		for _, s := range secrets {
			if len(s) >= 16 && strings.Contains(v.StringValue(), strings.TrimSpace(s)) {
				return []string{path}
			}
		}
	case v.IsArray():
		var out []string
		for i, e := range v.ArrayValue() {
			out = append(out, plainLeaks(fmt.Sprintf("%s[%d]", path, i), e, secrets)...)
		}
		return out
	case v.IsObject():
		var out []string
		keys := v.ObjectValue().StableKeys()
		for _, k := range keys {
			out = append(out, plainLeaks(path+"."+string(k), v.ObjectValue()[k], secrets)...)
		}
		return out
	}
	return nil
}

func checkSecretsStaySecret(r invariantRun) (out []string) {
	for _, res := range r.m.Resources {
		for _, k := range res.Inputs.StableKeys() {
			out = append(out, plainLeaks(res.Type+" "+res.Name+" "+string(k), res.Inputs[k], r.secrets)...)
		}
	}
	sort.Strings(out)
	return out
}
