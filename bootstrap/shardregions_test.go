package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// testShardRegions are three regions other than testRegion; the policies
// list them after the home region, in name order.
var testShardRegions = []string{"us-east-1", "ap-southeast-2", "eu-central-1"}

func shardConfig(regions ...string) map[string]string {
	cfg := baseConfig()
	raw, _ := json.Marshal(regions)
	cfg["promfed-bootstrap:shardRegions"] = string(raw)
	return cfg
}

// allRegions is what every statement of shardSids must name with
// testShardRegions configured.
func allRegions() []string {
	return append([]string{testRegion}, sorted(testShardRegions)...)
}

// regionPins is what pins a statement to regions: its aws:RequestedRegion
// and kms:ViaService values and the regions of its regional ARNs. ok is
// false for a statement no region pins (IAM, S3, Route 53, resource "*"
// without a region condition).
type regionPins struct {
	requested, viaService []string
	// arnRegions are the regions of each regional resource, by the ARN
	// with its region blanked out.
	arnRegions map[string][]string
}

func pinsOf(st statement) (regionPins, bool) {
	p := regionPins{
		requested:  stringOrList(st.Condition["StringEquals"]["aws:RequestedRegion"]),
		viaService: stringOrList(st.Condition["StringEquals"]["kms:ViaService"]),
		arnRegions: map[string][]string{},
	}
	for _, res := range st.Resource {
		parts := strings.SplitN(res, ":", 6)
		if len(parts) != 6 || parts[3] == "" {
			continue
		}
		region := parts[3]
		parts[3] = "<region>"
		key := strings.Join(parts, ":")
		p.arnRegions[key] = append(p.arnRegions[key], region)
	}
	return p, len(p.requested)+len(p.viaService)+len(p.arnRegions) > 0
}

// deployStatements are every statement of the deploy role of stack, by Sid,
// whichever of its managed policies holds it.
func deployStatements(t *testing.T, m *mocks, stack string) map[string]statement {
	t.Helper()
	out := map[string]statement{}
	for name, doc := range rolePolicies(t, m, "promfed-ci-deploy-"+stack) {
		for _, st := range doc.Statement {
			if _, dup := out[st.Sid]; dup {
				t.Errorf("%s: statement %s appears twice in the deploy role's policies", name, st.Sid)
			}
			out[st.Sid] = st
		}
	}
	return out
}

// shardSids are the region-pinned statements of a deploy role for what the
// main program creates in a shard region (EC2, flow and session logs, DLM,
// the alert topic and alarms, the stack's KMS keys and aliases, SSM
// parameters and the session document): with shard regions they name
// every region.
var shardSids = []string{"Ec2Vpc", "FlowLogGroup", "SnapshotLifecycle", "AlertTopic", "CreateStackKeys",
	"ListKeyAliases", "ManageStackKeys", "StackKeyAliases", "HostSecrets", "StackAlarms", "SessionDocument",
	"DescribeParameters", "StackKeysViaSsm", "VulnerabilityScanning"}

// homeSids are the region-pinned statements for what the main program
// creates in the home region only (load balancer, WAF, certificates, FIS,
// AMP and its key grants and log delivery, Grafana) and the
// Deny on the bootstrap's own keys: shard regions must not widen them.
var homeSids = []string{"LoadBalancer", "WebAcl", "Certificates", "FaultExperimentTemplates", "LongTermStore",
	"LongTermStoreLogs", "GrafanaWorkspace", "GrafanaSignIn", "StackKeysViaAps", "ProtectBootstrapKeys"}

// Each statement of shardSids names every shard region too; each of
// homeSids names the home region only, exactly as without shard regions;
// every region-pinned statement is in one of the two, and nothing else
// changes: same statements, same actions, same non-regional resources.
func TestShardRegionsReachOnlyWhatShardsCreate(t *testing.T) {
	base := mustRun(t)
	m, err := run(t, shardConfig(testShardRegions...))
	if err != nil {
		t.Fatal(err)
	}
	want := allRegions()
	home := []string{testRegion}
	for _, stack := range []string{"dev", "prod"} {
		before, after := deployStatements(t, base, stack), deployStatements(t, m, stack)
		if b, a := slices.Sorted(maps.Keys(before)), slices.Sorted(maps.Keys(after)); !slices.Equal(b, a) {
			t.Fatalf("deploy-%s statements %v with shard regions, want the single-region %v", stack, a, b)
		}
		for _, sid := range slices.Concat(shardSids, homeSids) {
			if _, ok := before[sid]; !ok {
				t.Errorf("deploy-%s has no statement %s", stack, sid)
			}
		}
		for sid, old := range before {
			st := after[sid]
			where := "deploy-" + stack + "/" + sid
			if !slices.Equal(st.Action, old.Action) || st.Effect != old.Effect {
				t.Errorf("%s: actions or effect changed with shard regions", where)
			}
			oldPins, isPinned := pinsOf(old)
			pins, _ := pinsOf(st)
			inShard, inHome := slices.Contains(shardSids, sid), slices.Contains(homeSids, sid)
			switch {
			case isPinned && !inShard && !inHome:
				t.Errorf("%s: region-pinned but in neither shardSids nor homeSids: decide whether shards need it", where)
				continue
			case !isPinned && (inShard || inHome):
				t.Errorf("%s: listed in shardSids or homeSids but pins no region", where)
				continue
			case !inShard:
				// Home-only, or pinned to no region: unchanged, and every
				// region it names is the home region.
				if fmt.Sprint(st) != fmt.Sprint(old) {
					t.Errorf("%s: home-only, yet changed with shard regions:\n%+v\nwas\n%+v", where, st, old)
				}
				if len(pins.requested) > 0 && !slices.Equal(pins.requested, home) {
					t.Errorf("%s: home-only, yet aws:RequestedRegion %v", where, pins.requested)
				}
				for _, v := range pins.viaService {
					if !strings.HasSuffix(v, "."+testRegion+".amazonaws.com") {
						t.Errorf("%s: home-only, yet kms:ViaService %v", where, pins.viaService)
						break
					}
				}
				for arn, regions := range pins.arnRegions {
					if !slices.Equal(regions, home) {
						t.Errorf("%s: home-only, yet %s in regions %v", where, arn, regions)
					}
				}
				continue
			}
			if len(oldPins.requested) > 0 && !slices.Equal(pins.requested, want) {
				t.Errorf("%s: aws:RequestedRegion %v, want %v", where, pins.requested, want)
			}
			if len(oldPins.viaService) > 0 {
				svc, _, _ := strings.Cut(oldPins.viaService[0], ".")
				var wantVia []string
				for _, r := range want {
					wantVia = append(wantVia, svc+"."+r+".amazonaws.com")
				}
				if !slices.Equal(pins.viaService, wantVia) {
					t.Errorf("%s: kms:ViaService %v, want %v", where, pins.viaService, wantVia)
				}
			}
			if a, b := slices.Sorted(maps.Keys(pins.arnRegions)), slices.Sorted(maps.Keys(oldPins.arnRegions)); !slices.Equal(a, b) {
				t.Errorf("%s: regional resources %v, want %v in each region", where, a, b)
			}
			for arn, regions := range pins.arnRegions {
				if !slices.Equal(regions, want) {
					t.Errorf("%s: %s in regions %v, want %v", where, arn, regions, want)
				}
			}
			// The rest of the condition (tags, service names) is unchanged.
			for op, kv := range old.Condition {
				for k, v := range kv {
					if k != "aws:RequestedRegion" && k != "kms:ViaService" && fmt.Sprint(st.Condition[op][k]) != fmt.Sprint(v) {
						t.Errorf("%s: condition %s %s = %v, was %v", where, op, k, st.Condition[op][k], v)
					}
				}
			}
		}
	}
	// No ARN of any policy uses a region wildcard, and no statement names a
	// region outside the configured ones.
	for name, doc := range managedPolicies(t, m) {
		for _, st := range doc.Statement {
			pins, _ := pinsOf(st)
			var seen []string
			seen = append(seen, pins.requested...)
			for _, regions := range pins.arnRegions {
				seen = append(seen, regions...)
			}
			for _, v := range pins.viaService {
				seen = append(seen, strings.Split(v, ".")[1])
			}
			for _, r := range seen {
				if !slices.Contains(want, r) {
					t.Errorf("%s/%s: region %q is neither the home region nor a shard region", name, st.Sid, r)
				}
			}
		}
	}
}

// The preview roles and the permissions boundary pin no region: a shard
// region changes neither.
func TestShardRegionsLeavePreviewAndBoundaryAlone(t *testing.T) {
	base := managedPolicies(t, mustRun(t))
	m, err := run(t, shardConfig(testShardRegions...))
	if err != nil {
		t.Fatal(err)
	}
	shard := managedPolicies(t, m)
	for _, name := range []string{"promfed-ci-preview-dev-state", "promfed-ci-preview-prod-state", "promfed-stack-boundary"} {
		if fmt.Sprint(shard[name]) != fmt.Sprint(base[name]) {
			t.Errorf("%s changed with shard regions", name)
		}
	}
}

// Unset or empty, shardRegions changes nothing: the same policies, pinned to
// the home region alone, as one string.
func TestEmptyShardRegionsChangeNothing(t *testing.T) {
	base := mustRun(t)
	cfg := baseConfig()
	cfg["promfed-bootstrap:shardRegions"] = "[]"
	empty, err := run(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	docs := func(m *mocks) map[string]string {
		out := map[string]string{}
		for _, r := range m.byType("aws:iam/policy:Policy") {
			out[at(t, obj(r), "name").StringValue()] = at(t, obj(r), "policy").StringValue()
		}
		for _, r := range m.byType("aws:iam/role:Role") {
			out["trust "+r.Name] = at(t, obj(r), "assumeRolePolicy").StringValue()
		}
		for _, r := range m.byType("aws:kms/key:Key") {
			out["key "+r.Name] = at(t, obj(r), "policy").StringValue()
		}
		return out
	}
	b, e := docs(base), docs(empty)
	if !maps.Equal(b, e) {
		t.Errorf("shardRegions = [] changed the policies:\n%v\nwant\n%v", e, b)
	}
	if len(base.resources) != len(empty.resources) {
		t.Errorf("%d resources with shardRegions = [], want %d", len(empty.resources), len(base.resources))
	}
	for name, doc := range managedPolicies(t, base) {
		for _, st := range doc.Statement {
			if v, ok := st.Condition["StringEquals"]["aws:RequestedRegion"]; ok && v != testRegion {
				t.Errorf("%s/%s: aws:RequestedRegion = %v, want the string %q", name, st.Sid, v, testRegion)
			}
			if v, ok := st.Condition["StringEquals"]["kms:ViaService"]; ok {
				if s, isString := v.(string); !isString || !strings.HasSuffix(s, "."+testRegion+".amazonaws.com") {
					t.Errorf("%s/%s: kms:ViaService = %v, want one service of %s", name, st.Sid, v, testRegion)
				}
			}
			pins, _ := pinsOf(st)
			for arn, regions := range pins.arnRegions {
				if !slices.Equal(regions, []string{testRegion}) {
					t.Errorf("%s/%s: %s in %v, want %s only", name, st.Sid, arn, regions, testRegion)
				}
			}
		}
	}
}

// Three shard regions fit IAM's 6,144 characters with the longest names the
// settings allow (20-character namePrefix and stack, the longest region
// names), and the size check the config validation makes agrees with the
// policies the program creates.
func TestShardRegionPoliciesFitTheSizeLimit(t *testing.T) {
	long := strings.Repeat("s", 20)
	cases := map[string]map[string]string{
		"test names": shardConfig(testShardRegions...),
		"longest names": func() map[string]string {
			cfg := shardConfig("ap-southeast-2", "ap-southeast-4", "ap-northeast-3")
			cfg["aws:region"] = "ap-southeast-1"
			cfg["promfed-bootstrap:stackNamePrefix"] = strings.Repeat("p", 20)
			cfg["promfed-bootstrap:stacks"] = `["dev","` + long + `"]`
			cfg["promfed-bootstrap:stackBucketPrefix"] = strings.Repeat("b", 40)
			return cfg
		}(),
	}
	for name, cfg := range cases {
		t.Run(name, func(t *testing.T) {
			m, err := run(t, cfg)
			if err != nil {
				t.Fatal(err)
			}
			largest, size := "", 0
			for _, r := range m.byType("aws:iam/policy:Policy") {
				n := len(at(t, obj(r), "policy").StringValue())
				if n > size {
					largest, size = at(t, obj(r), "name").StringValue(), n
				}
				if n > managedPolicyMaxLen {
					t.Errorf("%s is %d characters, over the 6,144 managed policy limit", at(t, obj(r), "name").StringValue(), n)
				}
			}
			t.Logf("largest policy: %s, %d characters", largest, size)
			// The sizing IDs' key ARNs are as long as real ones, longer
			// than the mocks': the prediction may only be larger.
			predictedName, predicted := largestPolicy(settingsOf(t, cfg))
			if predicted < size {
				t.Errorf("validation predicts at most %d characters (%s), the program made %d (%s)", predicted, predictedName, size, largest)
			}
			if n := len(m.byType("aws:iam/rolePolicyAttachment:RolePolicyAttachment")); n != 2*(5+1) {
				t.Errorf("%d policy attachments, want 2 stacks x (5 deploy + 1 preview)", n)
			}
		})
	}
}

// settingsOf loads the settings the program would from cfg.
func settingsOf(t *testing.T, cfg map[string]string) *settings {
	t.Helper()
	var s *settings
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		var err error
		s, err = loadSettings(ctx)
		return err
	}, pulumi.WithMocks(projectName, "test", &mocks{}), func(ri *pulumi.RunInfo) { ri.Config = cfg })
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestShardRegionsValidation(t *testing.T) {
	nine, _ := json.Marshal([]string{"us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-central-1",
		"eu-north-1", "ap-south-1", "sa-east-1", "ca-central-1"})
	cases := []struct {
		raw, value, rule string
	}{
		{`["mars-1"]`, "mars-1", "each must be an AWS region such as eu-central-1"},
		{`["EU-CENTRAL-1"]`, "EU-CENTRAL-1", "each must be an AWS region"},
		{`["eu-central-1",""]`, "", "each must be an AWS region"},
		{`["` + testRegion + `"]`, testRegion, "must not repeat the home region aws:region"},
		{`["us-east-1","eu-central-1","us-east-1"]`, "us-east-1", "each region must be listed once"},
		{`["us-gov-west-1"]`, "us-gov-west-1", "must be in the partition of aws:region eu-west-1 (aws), not aws-us-gov"},
		{`["cn-north-1"]`, "cn-north-1", "partition of aws:region"},
		{`"us-east-1"`, `"us-east-1"`, "must be a list of strings"},
		{`us-east-1,eu-central-1`, "us-east-1,eu-central-1", "must be a list of strings"},
		{string(nine), string(nine), "characters: IAM allows 6144; list fewer regions"},
	}
	for _, c := range cases {
		t.Run(c.raw, func(t *testing.T) {
			cfg := baseConfig()
			cfg["promfed-bootstrap:shardRegions"] = c.raw
			m, err := run(t, cfg)
			if err == nil {
				t.Fatal("program accepted invalid shardRegions")
			}
			want := fmt.Sprintf("invalid config promfed-bootstrap:shardRegions = %q: ", c.value)
			if msg := err.Error(); !strings.Contains(msg, want) || !strings.Contains(msg, c.rule) {
				t.Errorf("error %q, want %q and the rule %q", msg, want, c.rule)
			}
			if len(m.resources) != 0 {
				t.Errorf("created %d resources despite invalid config", len(m.resources))
			}
		})
	}
	// Valid lists: in any order, up to what fits.
	for _, regions := range [][]string{{"us-east-1"}, testShardRegions, {"eu-central-1", "us-east-1", "us-west-2", "ap-south-1", "sa-east-1"}} {
		if _, err := run(t, shardConfig(regions...)); err != nil {
			t.Errorf("shardRegions %v refused: %v", regions, err)
		}
	}
	// A GovCloud home region may have a GovCloud shard region.
	cfg := shardConfig("us-gov-east-1")
	cfg["aws:region"] = "us-gov-west-1"
	if _, err := run(t, cfg); err != nil {
		t.Errorf("us-gov-east-1 shards of a us-gov-west-1 home refused: %v", err)
	}
}

// The order of shardRegions does not matter: the policies list the home
// region, then the shard regions in name order.
func TestShardRegionOrderDoesNotMatter(t *testing.T) {
	a, err := run(t, shardConfig(testShardRegions...))
	if err != nil {
		t.Fatal(err)
	}
	reversed := slices.Clone(testShardRegions)
	slices.Reverse(reversed)
	b, err := run(t, shardConfig(reversed...))
	if err != nil {
		t.Fatal(err)
	}
	if pa, pb := managedPolicies(t, a), managedPolicies(t, b); fmt.Sprint(pa) != fmt.Sprint(pb) {
		t.Errorf("reordering shardRegions changed the policies")
	}
}
