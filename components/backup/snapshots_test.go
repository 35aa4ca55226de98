package backup

import (
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/promfed/promfed/internal/testmocks"
)

func TestDailySnapshotsOfTaggedVolumes(t *testing.T) {
	m, err := testmocks.Run("promfed", "dev", nil, nil, func(ctx *pulumi.Context) error {
		_, err := NewSnapshots(ctx, "tsdb", &SnapshotsArgs{
			TargetTags: map[string]string{"promfed:backup": "true", "promfed:stack": "dev"}, RetainCount: 7, Time: "03:00",
			Tags: map[string]string{"promfed:stack": "dev"},
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	p := m.Named(t, "aws:dlm/lifecyclePolicy:LifecyclePolicy", "tsdb")
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
}
