package sessions

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/promfed/promfed/internal/testmocks"
)

func TestSessionLogs(t *testing.T) {
	var arn string
	m, err := testmocks.Run("promfed", "prod", nil, nil, func(ctx *pulumi.Context) error {
		l, err := NewLogs(ctx, "promfed-prod-ssm-sessions", &LogsArgs{NamePrefix: "promfed", Stack: "prod", Partition: "aws",
			Region: "eu-west-1", Account: "123456789012", RetentionDays: 365, Tags: map[string]string{"promfed:stack": "prod"}})
		if err != nil {
			return err
		}
		l.LogGroupArn.ApplyT(func(s string) string { arn = s; return s })
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	const group = "arn:aws:logs:eu-west-1:123456789012:log-group:/promfed/prod/ssm-sessions"
	if arn != group {
		t.Errorf("log group ARN %q", arn)
	}
	lg := m.Named(t, "aws:cloudwatch/logGroup:LogGroup", "promfed-prod-ssm-sessions")
	if lg.Str("name") != "/promfed/prod/ssm-sessions" || lg.Get("retentionInDays") != float64(365) ||
		lg.Str("kmsKeyId") != "arn:aws:mock:eu-west-1:123456789012:key/promfed-prod-ssm-sessions" {
		t.Errorf("log group %v", lg.Inputs)
	}
	key := m.Named(t, "aws:kms/key:Key", "promfed-prod-ssm-sessions")
	var policy struct{ Statement []map[string]any }
	if err := json.Unmarshal([]byte(key.Str("policy")), &policy); err != nil || len(policy.Statement) != 2 {
		t.Fatalf("key policy %s (%v)", key.Str("policy"), err)
	}
	logs := policy.Statement[1]
	if logs["Principal"].(map[string]any)["Service"] != "logs.eu-west-1.amazonaws.com" ||
		logs["Condition"].(map[string]any)["ArnEquals"].(map[string]any)["kms:EncryptionContext:aws:logs:arn"] != group {
		t.Errorf("CloudWatch Logs may use the key beyond this group: %v", logs)
	}
	if strings.Contains(key.Str("policy"), `:*"`) || strings.Contains(key.Str("policy"), `"kms:*"`) {
		t.Errorf("wildcard action in the key policy: %s", key.Str("policy"))
	}
	doc := m.Named(t, "aws:ssm/document:Document", "promfed-prod-ssm-sessions")
	var content struct {
		SessionType string         `json:"sessionType"`
		Inputs      map[string]any `json:"inputs"`
	}
	if err := json.Unmarshal([]byte(doc.Str("content")), &content); err != nil {
		t.Fatal(err)
	}
	if doc.Str("name") != "promfed-prod-sessions" || doc.Str("documentType") != "Session" || content.SessionType != "Standard_Stream" ||
		content.Inputs["cloudWatchLogGroupName"] != "/promfed/prod/ssm-sessions" || content.Inputs["cloudWatchEncryptionEnabled"] != true {
		t.Errorf("session document %s: %s", doc.Str("name"), doc.Str("content"))
	}
}

// Another region's logs: every name ends in the suffix, and the key lets
// that region's CloudWatch Logs use it for that group.
func TestSessionLogsInAnotherRegion(t *testing.T) {
	m, err := testmocks.Run("promfed", "prod", nil, nil, func(ctx *pulumi.Context) error {
		_, err := NewLogs(ctx, "promfed-ssm-sessions-us-east-1", &LogsArgs{NamePrefix: "promfed", Stack: "prod", Partition: "aws",
			Region: "us-east-1", Account: "123456789012", RetentionDays: 365, NameSuffix: "-us-east-1"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	lg := m.Named(t, "aws:cloudwatch/logGroup:LogGroup", "promfed-ssm-sessions-us-east-1")
	doc := m.Named(t, "aws:ssm/document:Document", "promfed-ssm-sessions-us-east-1")
	alias := m.Named(t, "aws:kms/alias:Alias", "promfed-ssm-sessions-us-east-1")
	if lg.Str("name") != "/promfed/prod/ssm-sessions-us-east-1" || doc.Str("name") != "promfed-prod-sessions-us-east-1" ||
		alias.Str("name") != "alias/promfed-prod-ssm-sessions-us-east-1" || !strings.Contains(doc.Str("content"), `"cloudWatchLogGroupName":"/promfed/prod/ssm-sessions-us-east-1"`) {
		t.Errorf("group %s, document %s, alias %s", lg.Str("name"), doc.Str("name"), alias.Str("name"))
	}
	policy := m.Named(t, "aws:kms/key:Key", "promfed-ssm-sessions-us-east-1").Str("policy")
	if !strings.Contains(policy, `"logs.us-east-1.amazonaws.com"`) || !strings.Contains(policy, "arn:aws:logs:us-east-1:123456789012:log-group:/promfed/prod/ssm-sessions-us-east-1") {
		t.Errorf("key policy %s", policy)
	}
}
