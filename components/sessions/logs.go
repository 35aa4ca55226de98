// Package sessions provides the Logs component: every AWS Systems Manager
// Session Manager session on the stack's hosts (the shell without SSH that
// every host's role allows) is recorded in an encrypted CloudWatch Logs
// group. Sessions started with the stack's session document are logged;
// operators' IAM should require it (docs/security.md).
package sessions

import (
	"encoding/json"
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ssm"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/promfed/promfed/internal/contract"
	"github.com/promfed/promfed/internal/iampolicy"
	"github.com/promfed/promfed/internal/stackkey"
	"github.com/promfed/promfed/internal/tagging"
)

// LogsArgs configures session logging.
type LogsArgs struct {
	NamePrefix, Stack string
	Partition, Region string
	Account           string
	RetentionDays     int
	// NameSuffix ("-<region>") ends the group, alias and document names of
	// another region's logs. They are regional and could repeat the home
	// region's; distinct, they tell the regions apart in listings and
	// operators' IAM policies.
	NameSuffix string
	Tags       map[string]string
}

// Logs is the log group, its key and the session document.
type Logs struct {
	pulumi.ResourceState

	LogGroupArn  pulumi.StringOutput
	DocumentName pulumi.StringOutput
}

var keyLogsActions = []string{"kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom", "kms:ReEncryptTo"}

// NewLogs creates the key, the log group and the session document
// <namePrefix>-<stack>-sessions.
func NewLogs(ctx *pulumi.Context, name string, args *LogsArgs, opts ...pulumi.ResourceOption) (*Logs, error) {
	if args == nil {
		return nil, fmt.Errorf("session logs %s: no arguments", name)
	}
	l := &Logs{}
	if err := ctx.RegisterComponentResource("promfed:sessions:Logs", name, l, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(l)
	group := "/" + args.NamePrefix + "/" + args.Stack + "/ssm-sessions" + args.NameSuffix
	groupArn := fmt.Sprintf("arn:%s:logs:%s:%s:log-group:%s", args.Partition, args.Region, args.Account, group)
	key, err := stackkey.New(ctx, name, stackkey.Args{
		Alias:       contract.IAMName(args.NamePrefix, args.Stack, "ssm-sessions"+args.NameSuffix),
		Description: pulumi.Sprintf("promfed %s: Session Manager session logs", args.Stack),
		Policy:      pulumi.String(KeyPolicy(args.Partition, args.Region, args.Account, groupArn)), Tags: args.Tags,
	}, parent)
	if err != nil {
		return nil, err
	}
	lg, err := cloudwatch.NewLogGroup(ctx, name, &cloudwatch.LogGroupArgs{
		Name: pulumi.String(group), KmsKeyId: key.Arn, RetentionInDays: pulumi.Int(args.RetentionDays),
		Tags: tagging.Named(args.Tags, name),
	}, parent)
	if err != nil {
		return nil, err
	}
	content, err := json.Marshal(map[string]any{
		"schemaVersion": "1.0",
		"description":   "promfed " + args.Stack + ": interactive sessions, recorded in " + group,
		"sessionType":   "Standard_Stream",
		"inputs": map[string]any{
			"cloudWatchLogGroupName":      group,
			"cloudWatchEncryptionEnabled": true,
			"cloudWatchStreamingEnabled":  true,
			"idleSessionTimeout":          "20",
			"runAsEnabled":                false,
			"shellProfile":                map[string]string{"linux": ""},
		},
	})
	if err != nil {
		return nil, err
	}
	doc, err := ssm.NewDocument(ctx, name, &ssm.DocumentArgs{
		Name: pulumi.String(contract.IAMName(args.NamePrefix, args.Stack, "sessions"+args.NameSuffix)), DocumentType: pulumi.String("Session"),
		DocumentFormat: pulumi.String("JSON"), Content: pulumi.String(string(content)),
		Tags: tagging.Named(args.Tags, name),
	}, parent, pulumi.DependsOn([]pulumi.Resource{lg}))
	if err != nil {
		return nil, err
	}
	// The ARN as the program builds it (known at preview), once the group
	// exists.
	l.LogGroupArn = lg.Name.ApplyT(func(string) string { return groupArn }).(pulumi.StringOutput)
	l.DocumentName = doc.Name
	return l, ctx.RegisterResourceOutputs(l, pulumi.Map{"logGroupArn": l.LogGroupArn, "documentName": doc.Name})
}

// KeyPolicy lets the account manage and use the key through IAM, and
// CloudWatch Logs use it for this log group only.
func KeyPolicy(partition, region, account, groupArn string) string {
	return iampolicy.Document(
		stackkey.AccountStatement(partition, account),
		iampolicy.Statement{"Sid": "CloudWatchLogsForSessions", "Effect": "Allow",
			"Principal": map[string]any{"Service": "logs." + region + ".amazonaws.com"},
			"Action":    keyLogsActions, "Resource": "*",
			"Condition": map[string]any{"ArnEquals": map[string]any{"kms:EncryptionContext:aws:logs:arn": groupArn}}},
	)
}
