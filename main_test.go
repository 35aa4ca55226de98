package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/promfed/promfed/config"
	"github.com/promfed/promfed/internal/testmocks"
)

// stackConfig reads Pulumi.<stack>.yaml as the engine passes it to the
// program (lists as JSON) and adds what operators set with --secret.
func stackConfig(t *testing.T, stack string) (map[string]string, []string) {
	t.Helper()
	out, encrypted, err := testmocks.StackFile(".", stack)
	if err != nil || len(encrypted) != 0 {
		t.Fatalf("Pulumi.%s.yaml: %v (encrypted: %v)", stack, err, encrypted)
	}
	out["promfed:webPassword"] = "a-very-long-web-password"
	out["promfed:hostKeySeed"] = "a-test-seed-that-is-not-a-zone-id-0123"
	// Every secret receiver is set, so the invariants see where each goes.
	out["promfed:alertWebhookUrl"] = "https://hooks.example.com/secret-webhook-token"
	out["promfed:slackWebhookUrl"] = "https://hooks.slack.com/services/T000/B000/secret-slack-token"
	out["promfed:pagerDutyRoutingKey"] = "0123456789abcdefghijABCDEFGHIJ01"
	secrets := []string{"promfed:webPassword", "promfed:hostKeySeed", "promfed:alertWebhookUrl", "promfed:slackWebhookUrl", "promfed:pagerDutyRoutingKey"}
	if out["promfed:dnsProvider"] == "cloudflare" {
		ca, cert, key, err := testmocks.OriginPull()
		if err != nil {
			t.Fatal(err)
		}
		out["promfed:originPullCa"], out["promfed:originPullCertificate"], out["promfed:originPullPrivateKey"] = ca, cert, key
		secrets = append(secrets, "promfed:originPullPrivateKey")
	}
	return out, secrets
}

func runStack(t *testing.T, stack string, edit func(map[string]string)) (*testmocks.Mocks, error) {
	t.Helper()
	cfg, secrets := stackConfig(t, stack)
	if edit != nil {
		edit(cfg)
	}
	return testmocks.Run("promfed", stack, cfg, secrets, program)
}

func mustRun(t *testing.T, stack string) *testmocks.Mocks {
	t.Helper()
	m, err := runStack(t, stack, nil)
	if err != nil {
		t.Fatalf("stack %s: %v", stack, err)
	}
	return m
}

// Resource types that take no tags.
var untaggable = map[string]bool{
	"aws:ec2/routeTableAssociation:RouteTableAssociation": true, "aws:iam/rolePolicy:RolePolicy": true,
	"aws:iam/rolePolicyAttachment:RolePolicyAttachment": true, "aws:ec2/volumeAttachment:VolumeAttachment": true,
	"aws:lb/targetGroupAttachment:TargetGroupAttachment": true, "aws:route53/record:Record": true,
	"aws:acm/certificateValidation:CertificateValidation": true, "aws:ec2/eipAssociation:EipAssociation": true,
	"aws:wafv2/webAclAssociation:WebAclAssociation": true,
	"aws:s3/bucketPolicy:BucketPolicy":              true, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": true,
	"aws:s3/bucketOwnershipControls:BucketOwnershipControls": true, "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2": true,
	"aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2": true,
	"aws:kms/alias:Alias": true, "aws:sns/topicSubscription:TopicSubscription": true, "aws:ec2/route:Route": true,
	"aws:inspector2/enabler:Enabler": true,
}

func TestConventions(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		m := mustRun(t, stack)
		for _, r := range m.Resources {
			if !r.Custom {
				parts := strings.Split(r.Type, ":")
				if len(parts) != 3 || parts[0] != "promfed" || strings.ToLower(parts[2][:1]) == parts[2][:1] {
					t.Errorf("%s: component type %q is not promfed:<module>:<Type>", stack, r.Type)
				}
				continue
			}
			if r.Parent == "" || strings.HasSuffix(r.Parent, "pulumi:pulumi:Stack::promfed-"+stack) {
				t.Errorf("%s: %s %s has no component parent", stack, r.Type, r.Name)
			}
			if strings.HasPrefix(r.Type, "aws:") && !untaggable[r.Type] {
				if tags := r.Tags(); tags["promfed:stack"] != stack || tags["ManagedBy"] != "pulumi" {
					t.Errorf("%s: %s %s tags %v", stack, r.Type, r.Name, tags)
				}
			}
		}
	}
}

func TestNoWideOpenAdminPorts(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		m := mustRun(t, stack)
		for _, r := range m.OfType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") {
			port := r.Get("fromPort").(float64)
			src := r.Str("cidrIpv4") + r.Str("cidrIpv6")
			if (port == 22 || port == 9090 || port == 9100) && (src == "0.0.0.0/0" || src == "::/0") {
				t.Errorf("%s: %s opens %v to %s", stack, r.Name, port, src)
			}
		}
		for _, inst := range m.OfType("aws:ec2/instance:Instance") {
			if inst.Get("associatePublicIpAddress") != false {
				t.Errorf("%s: instance %s may get a public IP", stack, inst.Name)
			}
		}
	}
}

func albIngress(m *testmocks.Mocks) []string {
	var out []string
	for _, r := range m.OfType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") {
		if r.Str("securityGroupId") == "promfed-alb-id" && r.Get("fromPort") == float64(443) {
			out = append(out, r.Str("cidrIpv4")+r.Str("cidrIpv6"))
		}
	}
	sort.Strings(out)
	return out
}

func TestDevEndpoint(t *testing.T) {
	m := mustRun(t, "dev")
	alb := m.Named(t, "aws:lb/loadBalancer:LoadBalancer", "promfed")
	if alb.Get("enableDeletionProtection") != false || alb.Get("dropInvalidHeaderFields") != true || alb.Str("name") != "promfed-dev" {
		t.Errorf("alb %v", alb.Inputs)
	}
	if logs := alb.Get("accessLogs").(map[string]any); logs["enabled"] != true || logs["bucket"] == "" {
		t.Errorf("access logs %v", logs)
	}
	https := m.Named(t, "aws:lb/listener:Listener", "promfed-https")
	if https.Str("protocol") != "HTTPS" || https.Str("sslPolicy") != "ELBSecurityPolicy-TLS13-1-2-2021-06" || https.Get("mutualAuthentication") != nil {
		t.Errorf("https listener %v", https.Inputs)
	}
	redirect := m.Named(t, "aws:lb/listener:Listener", "promfed-http").Get("defaultActions").([]any)[0].(map[string]any)
	if redirect["type"] != "redirect" || redirect["redirect"].(map[string]any)["statusCode"] != "HTTP_301" || redirect["redirect"].(map[string]any)["protocol"] != "HTTPS" {
		t.Errorf("http listener does not only redirect: %v", redirect)
	}
	tg := m.Named(t, "aws:lb/targetGroup:TargetGroup", "promfed-dev-tg")
	hc := tg.Get("healthCheck").(map[string]any)
	// Traffic over HTTPS to Prometheus; the health check asks the
	// readiness responder, which answers 200 only when Prometheus is ready.
	if tg.Str("protocol") != "HTTPS" || tg.Get("port") != float64(9090) || hc["path"] != "/ready" || hc["matcher"] != "200" ||
		hc["port"] != "9092" || hc["protocol"] != "HTTP" {
		t.Errorf("target group %v", tg.Inputs)
	}
	if att := m.OfType("aws:lb/targetGroupAttachment:TargetGroupAttachment"); len(att) != 1 || att[0].Str("targetId") != "primary-a-id" {
		t.Errorf("targets %v", att)
	}
	pab := m.Named(t, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "promfed-logs")
	for _, k := range []string{"blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"} {
		if pab.Get(k) != true {
			t.Errorf("public access block %s = %v", k, pab.Get(k))
		}
	}
	policy := m.Named(t, "aws:s3/bucketPolicy:BucketPolicy", "promfed-logs").Str("policy")
	for _, want := range []string{`"aws:SecureTransport":"false"`, `"AWS":"arn:aws:iam::156460612806:root"`, `/alb/AWSLogs/123456789012/*`} {
		if !strings.Contains(policy, want) {
			t.Errorf("log bucket policy lacks %s: %s", want, policy)
		}
	}
	// allowedCidrs, plus the NAT gateway so a secondary can probe the endpoint.
	if got := strings.Join(albIngress(m), ","); got != "198.51.100.0/24,198.51.100.7/32" {
		t.Errorf("dev ALB admits %s, want allowedCidrs and the NAT gateway", got)
	}
	// The same sources, on every path, again at AWS WAF, which also
	// rate-limits and screens with AWS's managed rule groups.
	v4 := m.Named(t, "aws:wafv2/ipSet:IpSet", "promfed-dev-waf-ipv4")
	if got := fmt.Sprint(v4.Get("addresses")); v4.Str("ipAddressVersion") != "IPV4" || got != "[198.51.100.0/24 198.51.100.7/32]" {
		t.Errorf("WAF IPv4 set %s %s", v4.Str("ipAddressVersion"), got)
	}
	acl := m.Named(t, "aws:wafv2/webAcl:WebAcl", "promfed-dev-waf")
	var rules []map[string]any
	if err := json.Unmarshal([]byte(acl.Str("ruleJson")), &rules); err != nil || len(rules) != 6 {
		t.Fatalf("web ACL rules %v (%v)", acl.Str("ruleJson"), err)
	}
	if acl.Get("defaultAction").(map[string]any)["block"] == nil || acl.Str("scope") != "REGIONAL" ||
		!strings.Contains(acl.Str("ruleJson"), `"ARN":"arn:aws:mock:eu-west-1:123456789012:ipset/promfed-dev-waf-ipv4"`) ||
		!strings.Contains(acl.Str("ruleJson"), `"Limit":3000`) {
		t.Errorf("web ACL %v", acl.Inputs)
	}
	if assoc := m.Named(t, "aws:wafv2/webAclAssociation:WebAclAssociation", "promfed-dev-waf"); assoc.Str("resourceArn") != "arn:aws:mock:eu-west-1:123456789012:loadbalancer/promfed" ||
		assoc.Str("webAclArn") != "arn:aws:mock:eu-west-1:123456789012:webacl/promfed-dev-waf" {
		t.Errorf("web ACL association %v, want the ALB and the web ACL", assoc.Inputs)
	}
	alias := m.Named(t, "aws:route53/record:Record", "promfed-endpoint")
	if alias.Str("zoneId") != "Z0123456789EXAMPLE" || alias.Get("aliases") == nil {
		t.Errorf("public alias %v", alias.Inputs)
	}
	validation := m.Named(t, "aws:route53/record:Record", "promfed-endpoint-validation")
	if validation.Str("name") != "_abc.prometheus-dev.example.com." {
		t.Errorf("validation record %v", validation.Inputs)
	}
	for _, host := range []string{"primary-a", "secondary-apps-1"} {
		r := m.Named(t, "aws:route53/record:Record", "promfed-internal-"+host)
		if r.Str("name") != host+".dev.promfed.internal" || r.Str("type") != "A" {
			t.Errorf("private record %v", r.Inputs)
		}
	}
	for _, r := range m.Resources {
		if strings.HasPrefix(r.Type, "cloudflare:") {
			t.Errorf("dev created Cloudflare resource %s", r.Type)
		}
	}
	if n := len(m.OfType("promfed:prometheus:Server")); n != 2 {
		t.Errorf("dev has %d Prometheus servers", n)
	}
	if n := len(m.OfType("aws:inspector2/enabler:Enabler")); n != 0 {
		t.Errorf("dev turned on Inspector (%d enablers)", n)
	}
}

func TestProdEndpoint(t *testing.T) {
	m := mustRun(t, "prod")
	alb := m.Named(t, "aws:lb/loadBalancer:LoadBalancer", "promfed")
	if alb.Get("enableDeletionProtection") != true {
		t.Error("prod ALB lacks deletion protection")
	}
	if got := strings.Join(albIngress(m), ","); got != "103.21.244.0/22,173.245.48.0/20,2400:cb00::/32,2606:4700::/32" {
		t.Errorf("prod ALB admits %s, want Cloudflare's ranges", got)
	}
	mtls := m.Named(t, "aws:lb/listener:Listener", "promfed-https").Get("mutualAuthentication").(map[string]any)
	if mtls["mode"] != "verify" || mtls["trustStoreArn"] == "" {
		t.Errorf("mutual TLS %v", mtls)
	}
	rec := m.Named(t, "cloudflare:index/record:Record", "promfed-edge")
	if rec.Get("proxied") != true || rec.Str("content") != "promfed-123.eu-west-1.elb.amazonaws.com" {
		t.Errorf("cloudflare record %v", rec.Inputs)
	}
	if v := m.Named(t, "cloudflare:index/record:Record", "promfed-endpoint-validation"); v.Get("proxied") != false {
		t.Error("the ACM validation record must not be proxied")
	}
	phases := map[string]bool{}
	for _, rs := range m.OfType("cloudflare:index/ruleset:Ruleset") {
		phases[rs.Str("phase")] = true
	}
	if len(phases) != 2 || !phases["http_request_firewall_custom"] || !phases["http_ratelimit"] {
		t.Errorf("rulesets %v", phases)
	}
	waf, _ := json.Marshal(m.Named(t, "cloudflare:index/ruleset:Ruleset", "promfed-edge-waf").Get("rules"))
	// Every path: allowedCidrs and the NAT gateway (the endpoint probe; the
	// mocks give every NAT gateway the same address).
	if !strings.Contains(string(waf), `(http.host eq \"prometheus.example.com\" and not ip.src in {198.51.100.0/24 198.51.100.7/32})`) ||
		!strings.Contains(string(waf), `/api/v1/admin`) || strings.Contains(string(waf), "/federate") {
		t.Errorf("WAF rules %s", waf)
	}
	aop := m.Named(t, "cloudflare:index/authenticatedOriginPullsCertificate:AuthenticatedOriginPullsCertificate", "promfed-edge-origin-pull")
	if !aop.IsSecret("privateKey") || aop.Str("type") != "per-hostname" {
		t.Errorf("origin pull certificate secret=%v type=%s", aop.IsSecret("privateKey"), aop.Str("type"))
	}
	if ss := m.Named(t, "cloudflare:index/zoneSettingsOverride:ZoneSettingsOverride", "promfed-edge").Get("settings").(map[string]any); ss["ssl"] != "strict" {
		t.Errorf("ssl mode %v", ss["ssl"])
	}
	for _, v := range m.OfType("aws:ebs/volume:Volume") {
		if !v.Protect {
			t.Errorf("prod volume %s is not protected", v.Name)
		}
	}
	if n := len(m.OfType("promfed:prometheus:Server")); n != 5 {
		t.Errorf("prod has %d Prometheus servers, want 2 primaries and 2+1 secondaries", n)
	}
	primary := m.Named(t, "aws:ec2/instance:Instance", "primary-a").Str("subnetId")
	if s1 := m.Named(t, "aws:ec2/instance:Instance", "secondary-apps-1").Str("subnetId"); s1 == primary {
		t.Errorf("secondary-apps-1 shares the primary's subnet (and AZ) %s", primary)
	}
	checkReplicas(t, m)
	if v := m.Named(t, "aws:ebs/volume:Volume", "secondary-apps-1-data").Str("availabilityZone"); v != "eu-west-1b" {
		t.Errorf("secondary-apps-1's volume is in %s, want the second AZ", v)
	}
	if e := m.OfType("aws:inspector2/enabler:Enabler"); len(e) != 1 || jsonOf(e[0].Get("resourceTypes")) != `["EC2"]` {
		t.Errorf("prod scans with Inspector: %v", e)
	}
	if n := len(m.OfType("aws:ec2/natGateway:NatGateway")); n != 3 {
		t.Errorf("prod has %d NAT gateways", n)
	}
}

func TestBadConfigRegistersNothing(t *testing.T) {
	for key, value := range map[string]string{
		"promfed:vpcCidr": "10.0.0.0/33", "promfed:adminCidrs": `["0.0.0.0/0"]`, "promfed:shards": `[{"name":"apps","secondaries":0}]`, "promfed:namePrefix": "x",
		"promfed:primaryReplicas": "3", "promfed:protected": "true",
	} {
		m, err := runStack(t, "dev", func(c map[string]string) { c[key] = value })
		if err == nil {
			t.Errorf("%s=%s accepted", key, value)
			continue
		}
		if !strings.Contains(err.Error(), strings.TrimPrefix(key, "promfed:")) {
			t.Errorf("%s: error does not name the key: %v", key, err)
		}
		if len(m.Resources) != 0 {
			t.Errorf("%s: %d resources registered despite bad config", key, len(m.Resources))
		}
	}
	m, err := runStack(t, "dev", func(c map[string]string) { delete(c, "promfed:hostKeySeed") })
	if err == nil || !strings.Contains(err.Error(), "hostKeySeed has 0 characters") || len(m.Resources) != 0 {
		t.Errorf("missing seed: %v (%d resources)", err, len(m.Resources))
	}
}

// A provider credential in plain text stops the run before any resource.
func TestPlainProviderTokenRegistersNothing(t *testing.T) {
	m, err := runStack(t, "prod", func(c map[string]string) { c["cloudflare:apiToken"] = "a-cloudflare-api-token" })
	if err == nil || !strings.Contains(err.Error(), "cloudflare:apiToken is set in plain text") || len(m.Resources) != 0 {
		t.Fatalf("plain cloudflare:apiToken: %v (%d resources)", err, len(m.Resources))
	}
}

func TestOutputs(t *testing.T) {
	cfgMap, secrets := stackConfig(t, "dev")
	var st *stack
	_, err := testmocks.Run("promfed", "dev", cfgMap, secrets, func(ctx *pulumi.Context) error {
		region, _ := ctx.GetConfig("aws:region")
		cfg, err := config.Load(ctx.Project(), ctx.Stack(), region, pulumiSource{ctx})
		if err != nil {
			return err
		}
		st, err = build(ctx, cfg)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, h := range st.hosts {
		names = append(names, h.Name+"/"+string(h.Role)+"/"+h.Shard)
	}
	if got := strings.Join(names, ","); got != "primary-a/primary/,secondary-apps-1/secondary/apps" {
		t.Errorf("hosts %s", got)
	}
	if st.zone.Fqdns["secondary-apps-1"] != "secondary-apps-1.dev.promfed.internal" || len(st.tree) != 64 {
		t.Errorf("names %v, tree %s", st.zone.Fqdns, st.tree)
	}
	if len(st.fw.Shards) != 1 || st.fw.Shards[0].Name != "apps" {
		t.Errorf("shard groups %+v", st.fw.Shards)
	}
}

// Shards under mocks for both stack files: per-shard hosts, security
// groups, discovery IAM, peering and the alert topic.
func TestShardsInProgram(t *testing.T) {
	dev, prod := mustRun(t, "dev"), mustRun(t, "prod")

	servers := func(m *testmocks.Mocks) string {
		var names []string
		for _, r := range m.OfType("promfed:prometheus:Server") {
			names = append(names, r.Name)
		}
		sort.Strings(names)
		return strings.Join(names, ",")
	}
	if got := servers(dev); got != "primary-a,secondary-apps-1" {
		t.Errorf("dev servers %s", got)
	}
	if got := servers(prod); got != "primary-a,primary-b,secondary-apps-1,secondary-apps-2,secondary-data-1" {
		t.Errorf("prod servers %s", got)
	}

	// Each secondary carries its shard's scraper group; users get the
	// targets group.
	for _, c := range []struct{ host, group string }{
		{"secondary-apps-1", "promfed-shard-apps-scraper-id"}, {"secondary-apps-2", "promfed-shard-apps-scraper-id"}, {"secondary-data-1", "promfed-shard-data-scraper-id"},
	} {
		sgs := jsonOf(prod.Named(t, "aws:ec2/instance:Instance", c.host).Get("vpcSecurityGroupIds"))
		if !strings.Contains(sgs, c.group) || strings.Count(sgs, "scraper") != 1 {
			t.Errorf("%s groups %s", c.host, sgs)
		}
	}
	if sgs := jsonOf(prod.Named(t, "aws:ec2/instance:Instance", "primary-b").Get("vpcSecurityGroupIds")); strings.Contains(sgs, "scraper") {
		t.Errorf("the primary scrapes workloads: %s", sgs)
	}
	ports := map[string][]float64{}
	for _, r := range prod.OfType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") {
		if strings.Contains(r.Name, "-targets-in-") {
			ports[r.Str("securityGroupId")] = append(ports[r.Str("securityGroupId")], r.Get("fromPort").(float64))
		}
	}
	for _, p := range ports {
		sort.Float64s(p)
	}
	if got := jsonOf(ports); got != `{"promfed-shard-apps-targets-id":[8080,9100],"promfed-shard-data-targets-id":[9187,9308]}` {
		t.Errorf("targets groups admit %s", got)
	}
	if vpc := prod.Named(t, "aws:ec2/securityGroup:SecurityGroup", "promfed-shard-data-targets").Str("vpcId"); vpc != "vpc-0123456789abcdef0" {
		t.Errorf("the data shard's targets group is in %s, want the peered VPC", vpc)
	}

	// EC2 discovery rights only where a shard discovers by EC2.
	for _, c := range []struct {
		m    *testmocks.Mocks
		host string
		want bool
	}{{dev, "secondary-apps-1", true}, {prod, "secondary-apps-2", true}, {prod, "secondary-data-1", false}, {prod, "primary-b", false}} {
		has := false
		for _, r := range c.m.OfType("aws:iam/rolePolicy:RolePolicy") {
			if r.Name == c.host+"-ec2-sd" {
				has = strings.Contains(r.Str("policy"), `"aws:RequestedRegion":["eu-west-1"]`)
			}
		}
		if has != c.want {
			t.Errorf("%s EC2 discovery policy: %v, want %v", c.host, has, c.want)
		}
	}

	// Peering (prod's data shard) and the private zone reaching the peer.
	pc := prod.Named(t, "aws:ec2/vpcPeeringConnection:VpcPeeringConnection", "promfed-peer-data")
	if pc.Str("peerVpcId") != "vpc-0123456789abcdef0" || len(prod.OfType("aws:ec2/route:Route")) != 2 {
		t.Errorf("peering %v", pc.Inputs)
	}
	if zone := jsonOf(prod.Named(t, "aws:route53/zone:Zone", "promfed-internal").Get("vpcs")); !strings.Contains(zone, "vpc-0123456789abcdef0") {
		t.Errorf("private zone vpcs %s", zone)
	}
	if len(dev.OfType("aws:ec2/vpcPeeringConnection:VpcPeeringConnection")) != 0 {
		t.Error("dev peers with nothing")
	}

	// The alert topic: encrypted, subscribed, and only the primary publishes.
	topic := dev.Named(t, "aws:sns/topic:Topic", "promfed-dev-alerts")
	if !strings.Contains(topic.Str("kmsMasterKeyId"), "key/promfed-dev-alerts") {
		t.Errorf("topic %v", topic.Inputs)
	}
	if sub := dev.Named(t, "aws:sns/topicSubscription:TopicSubscription", "promfed-dev-alerts-email-1"); sub.Str("endpoint") != "oncall-dev@example.com" {
		t.Errorf("subscription %v", sub.Inputs)
	}
	for _, r := range prod.OfType("aws:iam/rolePolicy:RolePolicy") {
		if strings.Contains(r.Str("policy"), "sns:Publish") != (r.Name == "primary-a-alerts" || r.Name == "primary-b-alerts") {
			t.Errorf("%s: sns:Publish only for the primaries: %s", r.Name, r.Str("policy"))
		}
	}

	// A shard's own subscribers get only that shard's notifications.
	if sub := prod.Named(t, "aws:sns/topicSubscription:TopicSubscription", "promfed-prod-alerts-shard-apps-email-1"); sub.Str("endpoint") != "apps-team@example.com" ||
		sub.Str("filterPolicy") != `{"shard":["apps"]}` {
		t.Errorf("shard subscription %v", sub.Inputs)
	}

	// The primary's variables name the topic; a secondary's its shard.
	play := dev.Named(t, "command:remote:Command", "primary-a-playbook").Str("stdin")
	if !strings.Contains(play, `"alertmanager_sns_topic_arn": "arn:aws:mock:eu-west-1:123456789012:topic/promfed-dev-alerts"`) {
		t.Errorf("primary vars lack the topic ARN")
	}
	sec := dev.Named(t, "command:remote:Command", "secondary-apps-1-playbook").Str("stdin")
	if !strings.Contains(sec, `"shard": "apps"`) || !strings.Contains(sec, `"job": "apps-node"`) || !strings.Contains(sec, "recording-services.rules.yml") {
		t.Errorf("secondary-apps-1 vars lack its shard, job or rules")
	}
}

// A probe on another port than 80/443 gets its outbound rule on the
// shard's scrapers, so the probe is not silently blocked in AWS.
func TestProbePortsOpen(t *testing.T) {
	m, err := runStack(t, "dev", func(c map[string]string) {
		c["promfed:shards"] = `[{"name":"apps","probes":[{"url":"db.example.com:5432","module":"tcp_connect"}]}]`
	})
	if err != nil {
		t.Fatal(err)
	}
	r := m.Named(t, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "promfed-shard-apps-scraper-out-probe-5432-0.0.0.0-0")
	if r.Str("securityGroupId") != "promfed-shard-apps-scraper-id" || r.Get("fromPort") != float64(5432) || r.Str("cidrIpv4") != "0.0.0.0/0" {
		t.Errorf("probe egress %v", r.Inputs)
	}
}

// Editing one shard's targets re-runs only that shard's playbooks.
func TestShardEditTouchesOnlyItsHosts(t *testing.T) {
	stdin := func(m *testmocks.Mocks) map[string]string {
		out := map[string]string{}
		for _, r := range m.OfType("command:remote:Command") {
			out[r.Name] = jsonOf(r.Get("triggers"))
		}
		return out
	}
	base := stdin(mustRun(t, "prod"))
	m, err := runStack(t, "prod", func(c map[string]string) {
		c["promfed:shards"] = strings.Replace(c["promfed:shards"], `"10.60.2.10:9308"`, `"10.60.2.10:9308","10.60.3.10:9308"`, 1)
	})
	if err != nil {
		t.Fatal(err)
	}
	after := stdin(m)
	for name, tr := range base {
		if changed, want := after[name] != tr, name == "secondary-data-1-playbook"; changed != want {
			t.Errorf("%s changed=%v, want %v", name, changed, want)
		}
	}
}

func jsonOf(v any) string { b, _ := json.Marshal(v); return string(b) }

// Every host's secrets live in SSM Parameter Store under its own name, and
// its role may read only those: the provisioning step fetches them there.
func TestHostSecretsInSSM(t *testing.T) {
	m := mustRun(t, "dev")
	want := map[string][]string{
		"bastion": {"ssh-host-key"},
		// dev's stack file sets every receiver secret.
		"primary-a":        {"alert-webhook-url", "pagerduty-routing-key", "slack-api-url", "ssh-host-key", "tls-key", "web-password"},
		"secondary-apps-1": {"ssh-host-key", "tls-key", "web-password"},
	}
	params := map[string][]string{}
	for _, p := range m.OfType("aws:ssm/parameter:Parameter") {
		host, secret, _ := strings.Cut(strings.TrimPrefix(p.Str("name"), "/promfed/dev/"), "/")
		params[host] = append(params[host], secret)
		if p.Str("type") != "SecureString" || !p.IsSecret("value") || p.Str("value") == "" ||
			p.Str("keyId") != "arn:aws:mock:eu-west-1:123456789012:key/promfed-dev-host-secrets" {
			t.Errorf("parameter %s: type %s, secret %v, key %s", p.Str("name"), p.Str("type"), p.IsSecret("value"), p.Str("keyId"))
		}
	}
	for host, secrets := range want {
		sort.Strings(params[host])
		if strings.Join(params[host], ",") != strings.Join(secrets, ",") {
			t.Errorf("%s's parameters %v, want %v", host, params[host], secrets)
		}
		grant := m.Named(t, "aws:iam/rolePolicy:RolePolicy", host+"-secrets").Str("policy")
		for other := range want {
			if other != host && strings.Contains(grant, "parameter/"+other+"-secret-") {
				t.Errorf("%s may read %s's secrets: %s", host, other, grant)
			}
		}
		if n := strings.Count(grant, "parameter/"+host+"-secret-"); n != 2*len(secrets) {
			t.Errorf("%s's grant names its parameters %d times, want %d (read and decrypt): %s", host, n, 2*len(secrets), grant)
		}
	}
	play := m.Named(t, "command:remote:Command", "primary-a-playbook")
	if strings.Contains(play.Str("stdin"), `"prometheus_web_password":`) || !strings.Contains(play.Str("create"), "'/promfed/dev/primary-a/web-password'") {
		t.Errorf("the primary's playbook does not read its password from SSM: %v", play.Inputs["create"])
	}
	for _, dep := range []string{"primary-a-secret-web-password", "primary-a-secrets"} {
		found := false
		for _, d := range play.Dependencies {
			found = found || strings.HasSuffix(d, "::"+dep)
		}
		if !found {
			t.Errorf("the primary's playbook may run before %s exists: %v", dep, play.Dependencies)
		}
	}
}

// checkReplicas: prod's two primaries are in distinct AZs, both behind the
// ALB with stickiness, alarmed, and the second is provisioned after the
// first; the first keeps the resources it had as "primary".
func checkReplicas(t *testing.T, m *testmocks.Mocks) {
	t.Helper()
	azs, subnets := map[string]bool{}, map[string]bool{}
	for _, h := range []string{"primary-a", "primary-b"} {
		azs[m.Named(t, "aws:ebs/volume:Volume", h+"-data").Str("availabilityZone")] = true
		subnets[m.Named(t, "aws:ec2/instance:Instance", h).Str("subnetId")] = true
		if m.Named(t, "aws:cloudwatch/metricAlarm:MetricAlarm", "promfed-prod-"+h+"-system-check").Str("name") == "" {
			t.Errorf("%s has no system-check alarm", h)
		}
	}
	if len(azs) != 2 || len(subnets) != 2 {
		t.Errorf("the replicas share an AZ: volumes in %v, instances in %v", azs, subnets)
	}
	var targets []string
	for _, a := range m.OfType("aws:lb/targetGroupAttachment:TargetGroupAttachment") {
		targets = append(targets, a.Str("targetId"))
	}
	sort.Strings(targets)
	if strings.Join(targets, ",") != "primary-a-id,primary-b-id" {
		t.Errorf("ALB targets %v", targets)
	}
	if st := m.Named(t, "aws:lb/targetGroup:TargetGroup", "promfed-prod-tg").Get("stickiness").(map[string]any); st["enabled"] != true || st["type"] != "lb_cookie" {
		t.Errorf("stickiness %v", st)
	}
	b := m.Named(t, "promfed:provision:Host", "primary-b")
	if !slices.ContainsFunc(b.Dependencies, func(d string) bool { return strings.HasSuffix(d, "::primary-a-playbook") }) {
		t.Errorf("primary-b's provisioning does not wait for primary-a's: %v", b.Dependencies)
	}
	for _, r := range []testmocks.Resource{
		m.Named(t, "promfed:prometheus:Server", "primary-a"), m.Named(t, "promfed:provision:Host", "primary-a"),
		m.Named(t, "aws:lb/targetGroupAttachment:TargetGroupAttachment", "promfed-primary-a"),
	} {
		if !slices.Contains(r.Aliases, "primary") && !slices.Contains(r.Aliases, "promfed-primary") {
			t.Errorf("%s %s lost its former name: aliases %v", r.Type, r.Name, r.Aliases)
		}
	}
}

// The zones are looked up before anything is registered, and only standard
// zones count: an opted-in Local Zone (whose name sorts first) shifts no
// subnet, and too few zones fail the run with nothing created.
func TestZonesResolvedFirst(t *testing.T) {
	cfg, secrets := stackConfig(t, "dev")
	m, err := testmocks.RunOn(&testmocks.Mocks{LocalZones: []string{"eu-west-1-lux-1a"}}, "promfed", "dev", cfg, secrets, program)
	if err != nil {
		t.Fatal(err)
	}
	for name, az := range map[string]string{"promfed-public-1": "eu-west-1a", "promfed-private-2": "eu-west-1b"} {
		if got := m.Named(t, "aws:ec2/subnet:Subnet", name).Str("availabilityZone"); got != az {
			t.Errorf("%s in %s, want %s", name, got, az)
		}
	}
	cfg["promfed:azCount"] = "3"
	m, err = testmocks.RunOn(&testmocks.Mocks{Zones: []string{"eu-west-1a", "eu-west-1b"}}, "promfed", "dev", cfg, secrets, program)
	if err == nil || !strings.Contains(err.Error(), "azCount 3 is more than the 2 standard availability zones of eu-west-1 (eu-west-1a, eu-west-1b): lower azCount") {
		t.Fatalf("too few zones: %v", err)
	}
	if len(m.Resources) != 0 {
		t.Errorf("%d resources registered before the zone check", len(m.Resources))
	}
}

// Each host's playbook mounts that host's own volume, at the configured
// size: the data_volume role gets the volume's id, the devices it may
// appear as and dataVolumeSizeGiB (so a resize re-runs the playbook).
func TestPlaybookMountsTheHostsOwnVolume(t *testing.T) {
	prod := mustRun(t, "prod")
	for _, host := range []string{"primary-a", "primary-b", "secondary-apps-1"} {
		vol := prod.Named(t, "aws:ebs/volume:Volume", host+"-data")
		id := vol.Name + "-id" // the mocks' id
		var vars map[string]any
		if err := json.Unmarshal([]byte(prod.Named(t, "command:remote:Command", host+"-playbook").Str("stdin")), &vars); err != nil {
			t.Fatal(err)
		}
		if vars["data_volume_id"] != id || vars["data_volume_size_gib"] != float64(200) || vol.Get("size") != float64(200) {
			t.Errorf("%s: data_volume_id %v size %v, want %s and 200 (the volume's size %v)", host, vars["data_volume_id"], vars["data_volume_size_gib"], id, vol.Get("size"))
		}
		devices, _ := vars["data_volume_devices"].([]any)
		if len(devices) != 3 || devices[0] != "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_"+strings.ReplaceAll(id, "-", "") || devices[2] != "/dev/sdf" {
			t.Errorf("%s: devices %v", host, devices)
		}
	}
	if att := prod.Named(t, "aws:ec2/volumeAttachment:VolumeAttachment", "primary-a-data"); att.Str("deviceName") != "/dev/sdf" {
		t.Errorf("attached as %q, the role looks for /dev/sdf", att.Str("deviceName"))
	}
}

// restoreSnapshots makes that host's volume from the snapshot, and only
// that one; the playbook mounts the new volume. Volumes without a restore
// ignore snapshotId, so dropping the entry later replaces nothing.
func TestRestoreSnapshot(t *testing.T) {
	m, err := runStack(t, "prod", func(c map[string]string) {
		c["promfed:restoreSnapshots"] = `[{"host":"secondary-apps-1","snapshot":"snap-0123456789abcdef0"}]`
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range m.OfType("aws:ebs/volume:Volume") {
		restored := v.Name == "secondary-apps-1-data"
		if got := v.Str("snapshotId"); (got == "snap-0123456789abcdef0") != restored || (!restored && got != "") {
			t.Errorf("%s: snapshotId %q", v.Name, got)
		}
		if ignores := slices.Contains(v.IgnoreChanges, "snapshotId"); ignores == restored {
			t.Errorf("%s: ignoreChanges %v (the restored volume must follow its snapshot, the others keep theirs)", v.Name, v.IgnoreChanges)
		}
		if v.Get("size") != float64(200) || !v.Protect {
			t.Errorf("%s: size %v protect %v", v.Name, v.Get("size"), v.Protect)
		}
	}
	stdin := m.Named(t, "command:remote:Command", "secondary-apps-1-playbook").Str("stdin")
	if !strings.Contains(stdin, `"data_volume_id": "secondary-apps-1-data-snap-0123456789abcdef0-id"`) {
		t.Errorf("the playbook does not mount the restored volume:\n%s", stdin)
	}
	if att := m.Named(t, "aws:ec2/volumeAttachment:VolumeAttachment", "secondary-apps-1-data"); att.Str("volumeId") != "secondary-apps-1-data-snap-0123456789abcdef0-id" {
		t.Errorf("attachment of %q", att.Str("volumeId"))
	}
}

// faultInjection adds the game-day templates, stopped by the endpoint's
// no-healthy-target alarm and cutting off the second zone's private subnet;
// without it there are none.
func TestFaultInjectionTemplates(t *testing.T) {
	if n := len(mustRun(t, "prod").OfType("aws:fis/experimentTemplate:ExperimentTemplate")); n != 0 {
		t.Errorf("%d templates without faultInjection", n)
	}
	m, err := runStack(t, "prod", func(c map[string]string) { c["promfed:faultInjection"] = "true" })
	if err != nil {
		t.Fatal(err)
	}
	templates := m.OfType("aws:fis/experimentTemplate:ExperimentTemplate")
	if len(templates) != 3 {
		t.Fatalf("%d templates, want 3", len(templates))
	}
	for _, tpl := range templates {
		if got := jsonOf(tpl.Get("stopConditions")); !strings.Contains(got, `metricalarm/promfed-prod-endpoint-healthy-targets"`) {
			t.Errorf("%s stops on %s", tpl.Name, got)
		}
	}
	cut := m.Named(t, "aws:fis/experimentTemplate:ExperimentTemplate", "promfed-prod-faults-cut-private-subnet")
	if got := jsonOf(cut.Get("targets")); !strings.Contains(got, `"resourceArns":["arn:aws:ec2:eu-west-1:123456789012:subnet/promfed-private-2-id"]`) {
		t.Errorf("subnet target %s", got)
	}
}
