package chaos

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/promfed/promfed/internal/iamrole"
	"github.com/promfed/promfed/internal/testmocks"
)

const (
	alarm  = "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:promfed-prod-endpoint-healthy-targets"
	subnet = "arn:aws:ec2:eu-west-1:123456789012:subnet/subnet-2"
	vpc    = "arn:aws:ec2:eu-west-1:123456789012:vpc/vpc-1"
)

func run(t *testing.T) *testmocks.Mocks {
	t.Helper()
	m, err := testmocks.Run("promfed", "prod", nil, nil, func(ctx *pulumi.Context) error {
		_, err := NewExperiments(ctx, "promfed-prod-faults", &ExperimentsArgs{
			Stack: "prod", StopAlarmArn: pulumi.String(alarm), SubnetArn: pulumi.String(subnet), VpcArn: pulumi.String(vpc),
			IAM:  iamrole.Scope{NamePrefix: "promfed", Stack: "prod", Boundary: pulumi.String("arn:aws:iam::123456789012:policy/promfed/promfed-stack-boundary")},
			Tags: map[string]string{"promfed:stack": "prod"},
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func jsonOf(v any) string { b, _ := json.Marshal(v); return string(b) }

// Every template stops on the endpoint alarm and aims at the stack's own
// resources only: instances of one role by the stack's tags, or the one
// subnet it was given.
func TestTemplatesStopOnTheAlarmAndTargetTheStack(t *testing.T) {
	m := run(t)
	templates := m.OfType("aws:fis/experimentTemplate:ExperimentTemplate")
	if len(templates) != 3 {
		t.Fatalf("%d templates, want 3", len(templates))
	}
	for _, tpl := range templates {
		if got := jsonOf(tpl.Get("stopConditions")); got != `[{"source":"aws:cloudwatch:alarm","value":"`+alarm+`"}]` {
			t.Errorf("%s: stop conditions %s", tpl.Name, got)
		}
		if tpl.Str("roleArn") != "arn:aws:mock:eu-west-1:123456789012:role/promfed-prod-faults" {
			t.Errorf("%s: role %s", tpl.Name, tpl.Str("roleArn"))
		}
		if !strings.Contains(tpl.Parent, "promfed:chaos:Experiments") {
			t.Errorf("%s: parent %s", tpl.Name, tpl.Parent)
		}
	}
	for name, role := range map[string]string{"promfed-prod-faults-stop-secondary": "secondary", "promfed-prod-faults-stop-primary-replica": "primary"} {
		tpl := m.Named(t, "aws:fis/experimentTemplate:ExperimentTemplate", name)
		want := `[{"filters":[{"path":"State.Name","values":["running"]}],"name":"instance","resourceTags":[{"key":"promfed:stack","value":"prod"},{"key":"promfed:role","value":"` +
			role + `"}],"resourceType":"aws:ec2:instance","selectionMode":"COUNT(1)"}]`
		if got := jsonOf(tpl.Get("targets")); got != want {
			t.Errorf("%s: targets %s\nwant %s", name, got, want)
		}
		if got := jsonOf(tpl.Get("actions")); !strings.Contains(got, `"actionId":"aws:ec2:stop-instances"`) || !strings.Contains(got, `"key":"startInstancesAfterDuration","value":"PT10M"`) {
			t.Errorf("%s: actions %s", name, got)
		}
	}
	cut := m.Named(t, "aws:fis/experimentTemplate:ExperimentTemplate", "promfed-prod-faults-cut-private-subnet")
	if got := jsonOf(cut.Get("targets")); got != `[{"name":"subnet","resourceArns":["`+subnet+`"],"resourceType":"aws:ec2:subnet","selectionMode":"ALL"}]` {
		t.Errorf("subnet target %s", got)
	}
	if got := jsonOf(cut.Get("actions")); !strings.Contains(got, `"actionId":"aws:network:disrupt-connectivity"`) || !strings.Contains(got, `"key":"scope","value":"all"`) {
		t.Errorf("subnet action %s", got)
	}
}

// The role can touch nothing outside the stack: stopping and starting only
// instances tagged with it, network ACL changes only on FIS' own temporary
// ACL or in the stack's VPC; only Describe calls (which AWS cannot scope)
// name every resource.
func TestRoleLimitedToTheStack(t *testing.T) {
	m := run(t)
	role := m.Named(t, "aws:iam/role:Role", "promfed-prod-faults")
	if !strings.Contains(role.Str("assumeRolePolicy"), "fis.amazonaws.com") || role.Str("path") != "/promfed/prod/" || role.Str("permissionsBoundary") == "" {
		t.Errorf("role %v", role.Inputs)
	}
	var doc struct {
		Statement []struct {
			Sid       string
			Action    any
			Resource  any
			Condition map[string]map[string]any
		}
	}
	if err := json.Unmarshal([]byte(m.Named(t, "aws:iam/rolePolicy:RolePolicy", "promfed-prod-faults").Str("policy")), &doc); err != nil {
		t.Fatal(err)
	}
	for _, s := range doc.Statement {
		actions := jsonOf(s.Action)
		switch {
		case s.Resource == "*":
			if strings.Contains(strings.ReplaceAll(strings.ReplaceAll(actions, "ec2:Describe", ""), "ec2:GetManagedPrefixListEntries", ""), "ec2:") {
				t.Errorf("%s: %s on every resource", s.Sid, actions)
			}
		case strings.Contains(actions, "StopInstances") || strings.Contains(actions, "StartInstances"):
			if s.Condition["StringEquals"]["aws:ResourceTag/promfed:stack"] != "prod" {
				t.Errorf("%s: instances without the stack's tag condition: %v", s.Sid, s.Condition)
			}
		case s.Resource == vpc:
		default:
			eq := s.Condition["StringEquals"]
			if eq["aws:ResourceTag/managedByFIS"] != "true" && eq["aws:RequestTag/managedByFIS"] != "true" && eq["ec2:Vpc"] != vpc {
				t.Errorf("%s: %s on %v without a FIS-tag or VPC condition", s.Sid, actions, s.Resource)
			}
		}
	}
}

func TestArgumentsRequired(t *testing.T) {
	_, err := testmocks.Run("promfed", "prod", nil, nil, func(ctx *pulumi.Context) error {
		_, err := NewExperiments(ctx, "x", &ExperimentsArgs{Stack: "prod"})
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "a stop alarm, a subnet and its VPC are required") {
		t.Fatalf("got %v", err)
	}
}
