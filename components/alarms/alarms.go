// Package alarms provides the Alarms component: checks that do not depend
// on Prometheus at all, so a dead primary is still noticed. CloudWatch
// alarms on every instance's status checks (EC2 recovers an instance whose
// system check fails, onto healthy hardware with the same volumes and
// addresses) and on the endpoint's healthy targets, notifying the alert
// topic.
package alarms

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/promfed/promfed/internal/contract"
	"github.com/promfed/promfed/internal/tagging"
)

// Instance is one host the alarms watch.
type Instance struct {
	Name string
	ID   pulumi.StringInput
}

// Args configures the alarms.
type Args struct {
	NamePrefix, Stack string
	Partition, Region string
	Instances         []Instance
	// LoadBalancer and TargetGroup are the ARN suffixes CloudWatch uses as
	// dimensions of the endpoint's metrics. Without them only the
	// instances are watched (another region's hosts, whose alarms must
	// live in their own region, with a topic of that region).
	LoadBalancer, TargetGroup pulumi.StringInput
	// TopicArn receives alarm and recovery notifications.
	TopicArn pulumi.StringInput
	Tags     map[string]string
}

// Alarms are the stack's CloudWatch alarms.
type Alarms struct {
	pulumi.ResourceState

	// EndpointArn is the alarm on the endpoint having no healthy target
	// (the fault experiments' stop condition); unset without LoadBalancer.
	EndpointArn pulumi.StringOutput
}

// NewAlarms creates, per instance, a system-check alarm that recovers it and
// an instance-check alarm, and one alarm on the endpoint's healthy targets.
func NewAlarms(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Alarms, error) {
	if args == nil || args.TopicArn == nil {
		return nil, fmt.Errorf("alarms %s: arguments with an alert topic are required", name)
	}
	a := &Alarms{}
	if err := ctx.RegisterComponentResource("promfed:alarms:Alarms", name, a, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(a)
	notify := pulumi.Array{args.TopicArn}
	recovery := pulumi.String(fmt.Sprintf("arn:%s:automate:%s:ec2:recover", args.Partition, args.Region))
	var endpointAlarm *cloudwatch.MetricAlarm
	alarm := func(what string, a *cloudwatch.MetricAlarmArgs) error {
		n := contract.IAMName(args.NamePrefix, args.Stack, what)
		a.Name, a.Tags, a.OkActions = pulumi.String(n), tagging.Named(args.Tags, n), notify
		if a.AlarmActions == nil {
			a.AlarmActions = notify
		}
		m, err := cloudwatch.NewMetricAlarm(ctx, n, a, parent)
		if what == "endpoint-healthy-targets" {
			endpointAlarm = m
		}
		return err
	}
	for _, in := range args.Instances {
		dims := pulumi.StringMap{"InstanceId": in.ID}
		if err := alarm(in.Name+"-system-check", systemCheck(in, pulumi.Array{recovery, args.TopicArn})); err != nil {
			return nil, err
		}
		if err := alarm(in.Name+"-instance-check", &cloudwatch.MetricAlarmArgs{
			AlarmDescription: pulumi.Sprintf("%s: the instance check fails (kernel, disk full, memory); see docs/runbooks.md", in.Name),
			Namespace:        pulumi.String("AWS/EC2"), MetricName: pulumi.String("StatusCheckFailed_Instance"), Dimensions: dims,
			Statistic: pulumi.String("Maximum"), Period: pulumi.Int(60), EvaluationPeriods: pulumi.Int(3),
			ComparisonOperator: pulumi.String("GreaterThanThreshold"), Threshold: pulumi.Float64(0),
		}); err != nil {
			return nil, err
		}
	}
	if args.LoadBalancer == nil {
		return a, ctx.RegisterResourceOutputs(a, pulumi.Map{})
	}
	endpoint := pulumi.StringMap{"LoadBalancer": args.LoadBalancer, "TargetGroup": args.TargetGroup}
	// No data means no healthy target reported at all: breaching.
	if err := alarm("endpoint-healthy-targets", &cloudwatch.MetricAlarmArgs{
		AlarmDescription: pulumi.String("The public endpoint has no healthy target: every primary replica is down or not ready; see docs/runbooks.md"),
		Namespace:        pulumi.String("AWS/ApplicationELB"), MetricName: pulumi.String("HealthyHostCount"),
		Dimensions: endpoint,
		Statistic:  pulumi.String("Minimum"), Period: pulumi.Int(60), EvaluationPeriods: pulumi.Int(2),
		ComparisonOperator: pulumi.String("LessThanThreshold"), Threshold: pulumi.Float64(1),
		TreatMissingData: pulumi.String("breaching"),
	}); err != nil {
		return nil, err
	}
	// One replica failing its readiness check: the endpoint still answers,
	// without redundancy. No data means no unhealthy target.
	if err := alarm("endpoint-unhealthy-targets", &cloudwatch.MetricAlarmArgs{
		AlarmDescription: pulumi.String("A primary replica behind the public endpoint fails its readiness check: the endpoint runs without redundancy; see docs/runbooks.md"),
		Namespace:        pulumi.String("AWS/ApplicationELB"), MetricName: pulumi.String("UnHealthyHostCount"),
		Dimensions: endpoint,
		Statistic:  pulumi.String("Maximum"), Period: pulumi.Int(60), EvaluationPeriods: pulumi.Int(5),
		ComparisonOperator: pulumi.String("GreaterThanThreshold"), Threshold: pulumi.Float64(0),
		TreatMissingData: pulumi.String("notBreaching"),
	}); err != nil {
		return nil, err
	}
	a.EndpointArn = endpointAlarm.Arn
	return a, ctx.RegisterResourceOutputs(a, pulumi.Map{"endpointAlarmArn": a.EndpointArn})
}

// systemCheck is the alarm that has EC2 recover an instance whose system
// check fails.
func systemCheck(in Instance, actions pulumi.Array) *cloudwatch.MetricAlarmArgs {
	return &cloudwatch.MetricAlarmArgs{
		AlarmDescription: pulumi.Sprintf("%s: the AWS system check fails (hardware, network, power); EC2 recovers the instance", in.Name),
		Namespace:        pulumi.String("AWS/EC2"), MetricName: pulumi.String("StatusCheckFailed_System"),
		Dimensions: pulumi.StringMap{"InstanceId": in.ID},
		Statistic:  pulumi.String("Maximum"), Period: pulumi.Int(60), EvaluationPeriods: pulumi.Int(2),
		ComparisonOperator: pulumi.String("GreaterThanThreshold"), Threshold: pulumi.Float64(0),
		AlarmActions: actions,
	}
}
