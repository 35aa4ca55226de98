package alarms

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/promfed/promfed/internal/testmocks"
)

func TestAlarms(t *testing.T) {
	const topic = "arn:aws:sns:eu-west-1:123456789012:promfed-prod-alerts"
	m, err := testmocks.Run("promfed", "prod", nil, nil, func(ctx *pulumi.Context) error {
		_, err := NewAlarms(ctx, "promfed-prod-alarms", &Args{
			NamePrefix: "promfed", Stack: "prod", Partition: "aws", Region: "eu-west-1",
			Instances:    []Instance{{"primary", pulumi.String("i-1")}, {"secondary-apps-1", pulumi.String("i-2")}},
			LoadBalancer: pulumi.String("app/promfed-prod/abc"), TargetGroup: pulumi.String("targetgroup/promfed-prod-tg/def"),
			TopicArn: pulumi.String(topic), Tags: map[string]string{"promfed:stack": "prod"},
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(m.OfType("aws:cloudwatch/metricAlarm:MetricAlarm")); n != 6 {
		t.Errorf("%d alarms, want two per instance and two for the endpoint", n)
	}
	sys := m.Named(t, "aws:cloudwatch/metricAlarm:MetricAlarm", "promfed-prod-primary-system-check")
	if sys.Str("metricName") != "StatusCheckFailed_System" || sys.Get("dimensions").(map[string]any)["InstanceId"] != "i-1" ||
		fmt.Sprint(sys.Get("alarmActions")) != "[arn:aws:automate:eu-west-1:ec2:recover "+topic+"]" ||
		fmt.Sprint(sys.Get("okActions")) != "["+topic+"]" || sys.Str("name") != "promfed-prod-primary-system-check" {
		t.Errorf("system-check alarm %v", sys.Inputs)
	}
	inst := m.Named(t, "aws:cloudwatch/metricAlarm:MetricAlarm", "promfed-prod-secondary-apps-1-instance-check")
	if inst.Str("metricName") != "StatusCheckFailed_Instance" || fmt.Sprint(inst.Get("alarmActions")) != "["+topic+"]" {
		t.Errorf("instance-check alarm %v", inst.Inputs)
	}
	ep := m.Named(t, "aws:cloudwatch/metricAlarm:MetricAlarm", "promfed-prod-endpoint-healthy-targets")
	dims := ep.Get("dimensions").(map[string]any)
	if ep.Str("namespace") != "AWS/ApplicationELB" || ep.Str("metricName") != "HealthyHostCount" || ep.Str("comparisonOperator") != "LessThanThreshold" ||
		ep.Get("threshold") != float64(1) || ep.Str("treatMissingData") != "breaching" ||
		dims["LoadBalancer"] != "app/promfed-prod/abc" || dims["TargetGroup"] != "targetgroup/promfed-prod-tg/def" {
		t.Errorf("endpoint alarm %v", ep.Inputs)
	}
	// One replica not ready is a loss of redundancy, alarmed on its own.
	un := m.Named(t, "aws:cloudwatch/metricAlarm:MetricAlarm", "promfed-prod-endpoint-unhealthy-targets")
	if un.Str("metricName") != "UnHealthyHostCount" || un.Str("comparisonOperator") != "GreaterThanThreshold" || un.Get("threshold") != float64(0) ||
		un.Str("treatMissingData") != "notBreaching" || fmt.Sprint(un.Get("alarmActions")) != "["+topic+"]" || un.Get("dimensions").(map[string]any)["TargetGroup"] != "targetgroup/promfed-prod-tg/def" {
		t.Errorf("unhealthy-target alarm %v", un.Inputs)
	}
	for _, a := range m.OfType("aws:cloudwatch/metricAlarm:MetricAlarm") {
		if a.Tags()["promfed:stack"] != "prod" || !strings.HasPrefix(a.Str("name"), "promfed-prod-") {
			t.Errorf("%s: name %s tags %v", a.Name, a.Str("name"), a.Tags())
		}
	}
}

func TestAlarmsNeedATopic(t *testing.T) {
	_, err := testmocks.Run("promfed", "prod", nil, nil, func(ctx *pulumi.Context) error {
		_, err := NewAlarms(ctx, "a", &Args{})
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "alarms a: arguments with an alert topic are required") {
		t.Errorf("err = %v", err)
	}
}

// Without a load balancer (another region's hosts) only the instances are
// watched, recovered in the region given and notified on its topic.
func TestAlarmsOfInstancesOnly(t *testing.T) {
	const topic = "arn:aws:sns:us-east-1:123456789012:promfed-prod-alerts-us-east-1"
	m, err := testmocks.Run("promfed", "prod", nil, nil, func(ctx *pulumi.Context) error {
		_, err := NewAlarms(ctx, "promfed-prod-alarms-us-east-1", &Args{
			NamePrefix: "promfed", Stack: "prod", Partition: "aws", Region: "us-east-1",
			Instances: []Instance{{"secondary-us-1", pulumi.String("i-9")}}, TopicArn: pulumi.String(topic),
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range m.OfType("aws:cloudwatch/metricAlarm:MetricAlarm") {
		names = append(names, a.Name)
	}
	if got := strings.Join(names, ","); got != "promfed-prod-secondary-us-1-system-check,promfed-prod-secondary-us-1-instance-check" {
		t.Errorf("alarms %s", got)
	}
	sys := m.Named(t, "aws:cloudwatch/metricAlarm:MetricAlarm", "promfed-prod-secondary-us-1-system-check")
	if got := fmt.Sprint(sys.Get("alarmActions")); got != "[arn:aws:automate:us-east-1:ec2:recover "+topic+"]" {
		t.Errorf("actions %s", got)
	}
}
