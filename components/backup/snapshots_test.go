package backup

import (
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/promfed/promfed/internal/testmocks"
)

func policy(t *testing.T, copyRegion string) testmocks.Resource {
	t.Helper()
	m, err := testmocks.Run("promfed", "dev", nil, nil, func(ctx *pulumi.Context) error {
		_, err := NewSnapshots(ctx, "tsdb", &SnapshotsArgs{
			TargetTags: map[string]string{"promfed:backup": "true", "promfed:stack": "dev"}, RetainCount: 7, Time: "03:00",
			CopyRegion: copyRegion, Tags: map[string]string{"promfed:stack": "dev"},
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m.Named(t, "aws:dlm/lifecyclePolicy:LifecyclePolicy", "tsdb")
}

func TestDailySnapshotsOfTaggedVolumes(t *testing.T) {
	p := policy(t, "")
	details := p.Get("policyDetails").(map[string]any)
	target := details["targetTags"].(map[string]any)
	if target["promfed:backup"] != "true" || target["promfed:stack"] != "dev" {
		t.Errorf("target tags %v", target)
	}
	sched := details["schedules"].([]any)[0].(map[string]any)
	if sched["retainRule"].(map[string]any)["count"] != float64(7) || sched["createRule"].(map[string]any)["interval"] != float64(24) {
		t.Errorf("schedule %v", sched)
	}
	if p.Str("executionRoleArn") != "arn:aws:mock:eu-west-1:123456789012:role/tsdb" {
		t.Errorf("role %s", p.Str("executionRoleArn"))
	}
	if rules, ok := sched["crossRegionCopyRules"]; ok && len(rules.([]any)) > 0 {
		t.Errorf("copies without a copy region: %v", rules)
	}
}

// With a copy region every snapshot is also copied there, encrypted, and
// kept as many days as the home region keeps snapshots.
func TestSnapshotsCopiedToAnotherRegion(t *testing.T) {
	sched := policy(t, "eu-central-1").Get("policyDetails").(map[string]any)["schedules"].([]any)[0].(map[string]any)
	rules, _ := sched["crossRegionCopyRules"].([]any)
	if len(rules) != 1 {
		t.Fatalf("copy rules %v", sched["crossRegionCopyRules"])
	}
	r := rules[0].(map[string]any)
	retain, _ := r["retainRule"].(map[string]any)
	if r["target"] != "eu-central-1" || r["encrypted"] != true || r["copyTags"] != true || retain["interval"] != float64(7) || retain["intervalUnit"] != "DAYS" {
		t.Errorf("copy rule %v", r)
	}
}
