package main

import (
	"slices"
	"strings"
	"testing"
)

// Every Allow statement of the CI roles is scoped by action AND resource:
// resource "*" only for calls AWS cannot scope (read-only, or create calls
// narrowed by a region or request-tag condition); every ARN is in this
// account, of the service its actions belong to, and IAM ARNs lie under the
// role's own stack path (or the service-linked path, by service name).
// The permissions boundary is a cap, not a grant: it is checked by
// TestDeployRolesCannotEscalate.
func TestEveryStatementIsScoped(t *testing.T) {
	t.Run("home region", func(t *testing.T) {
		cfg := baseConfig()
		cfg["promfed-bootstrap:stackBucketPrefix"] = "promfed"
		checkEveryStatementIsScoped(t, cfg, []string{testRegion})
	})
	t.Run("shard regions", func(t *testing.T) {
		cfg := shardConfig(testShardRegions...)
		cfg["promfed-bootstrap:stackBucketPrefix"] = "promfed"
		checkEveryStatementIsScoped(t, cfg, allRegions())
	})
}

// checkEveryStatementIsScoped: the CI roles of cfg, whose region-pinned
// statements must name exactly regions or its first, the home region
// (which of the two: TestShardRegionsReachOnlyWhatShardsCreate).
func checkEveryStatementIsScoped(t *testing.T, cfg map[string]string, regions []string) {
	t.Helper()
	m, err := run(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	readOnlyStar := map[string]bool{}
	for _, list := range [][]string{stackReadActions, route53CreateZoneActions, logsDescribeActions} {
		for _, a := range list {
			readOnlyStar[a] = true
		}
	}
	// CloudWatch vended-log delivery (AMP's logs) and the Identity Center
	// application of a Grafana workspace take no resource.
	deliveryStar := map[string]bool{}
	for _, a := range append(append([]string{}, ampLogDeliveryActions...), grafanaSSOActions...) {
		deliveryStar[a] = true
	}
	regionPinnedServices := map[string]bool{"ec2": true, "elasticloadbalancing": true, "acm": true, "dlm": true, "inspector2": true, "wafv2": true, "ssm": true}
	n := 0
	for name, doc := range managedPolicies(t, m) {
		if name == "promfed-stack-boundary" {
			continue
		}
		// promfed-ci-<kind>-<stack>-<doc>; the test stacks have no hyphen.
		stack := strings.Split(strings.TrimPrefix(name, "promfed-ci-"), "-")[1]
		for _, st := range doc.Statement {
			if st.Effect != "Allow" {
				continue
			}
			where := name + "/" + st.Sid
			requested := stringOrList(st.Condition["StringEquals"]["aws:RequestedRegion"])
			pinned := slices.Equal(requested, regions) || slices.Equal(requested, regions[:1])
			projTag, _ := st.Condition["StringEquals"]["aws:RequestTag/promfed:project"].(string)
			stackTag, _ := st.Condition["StringEquals"]["aws:RequestTag/promfed:stack"].(string)
			resTag, _ := st.Condition["StringEquals"]["aws:ResourceTag/promfed:project"].(string)
			resStack, _ := st.Condition["StringEquals"]["aws:ResourceTag/promfed:stack"].(string)
			if len(st.Resource) == 0 {
				t.Errorf("%s: no resource", where)
			}
			for _, res := range st.Resource {
				n++
				if res == "*" {
					for _, a := range st.Action {
						svc, _, _ := strings.Cut(a, ":")
						switch {
						case readOnlyStar[a]:
						case regionPinnedServices[svc] && pinned:
						case deliveryStar[a] && pinned:
						case (a == "kms:CreateKey" || a == "kms:TagResource") && pinned && projTag == "promfed" && stackTag == stack:
						case a == "kms:ListAliases" && pinned:
						default:
							t.Errorf("%s: %s on resource * without a reason AWS forces", where, a)
						}
					}
					continue
				}
				parts := strings.SplitN(res, ":", 6)
				if len(parts) != 6 || parts[0] != "arn" || parts[1] != "aws" {
					t.Errorf("%s: resource %q is not an ARN", where, res)
					continue
				}
				svc, region, account, path := parts[2], parts[3], parts[4], parts[5]
				if region != "" && !slices.Contains(regions, region) {
					t.Errorf("%s: resource %q is outside the regions %v", where, res, regions)
				}
				if account != testAccount && svc != "s3" && svc != "route53" {
					t.Errorf("%s: resource %q is not in account %s", where, res, testAccount)
				}
				for _, a := range st.Action {
					if as, _, _ := strings.Cut(a, ":"); as != svc {
						t.Errorf("%s: action %s on a %s resource %q", where, a, svc, res)
					}
				}
				switch svc {
				case "iam":
					ok := false
					for _, allowed := range []string{"role/promfed/" + stack + "/", "instance-profile/promfed/" + stack + "/", "role/aws-service-role/"} {
						ok = ok || strings.HasPrefix(path, allowed)
					}
					if strings.HasPrefix(path, "role/aws-service-role/") && st.Condition["StringEquals"]["iam:AWSServiceName"] == nil {
						ok = false
					}
					if !ok {
						t.Errorf("%s: IAM resource %q is outside the stack prefix", where, res)
					}
				case "s3":
					if !strings.HasPrefix(path, testBucket) && !strings.HasPrefix(path, "promfed") {
						t.Errorf("%s: bucket resource %q is neither the state bucket nor under the stack prefix", where, res)
					}
				case "cloudwatch":
					if !strings.HasPrefix(path, "alarm:promfed-"+stack+"-") {
						t.Errorf("%s: alarm resource %q is outside the stack's promfed-%s-*", where, res, stack)
					}
				case "ssm":
					if !strings.HasPrefix(path, "parameter/promfed/"+stack+"/") && !strings.HasPrefix(path, "document/promfed-"+stack+"-") {
						t.Errorf("%s: SSM resource %q is outside the stack's /promfed/%s/ parameters and promfed-%s-* documents", where, res, stack, stack)
					}
				case "sns":
					if !strings.HasPrefix(path, "promfed-"+stack+"-") {
						t.Errorf("%s: topic resource %q is outside the stack prefix", where, res)
					}
				case "kms":
					switch {
					case strings.HasPrefix(path, "alias/promfed-"+stack+"-"):
					case strings.HasPrefix(path, "key/") && resTag == "promfed" && resStack == stack:
					default:
						t.Errorf("%s: KMS resource %q is neither a stack alias nor a key tagged with the role's stack", where, res)
					}
				}
			}
		}
	}
	if n < 20 {
		t.Errorf("only %d resources seen: the policies did not load", n)
	}
}
