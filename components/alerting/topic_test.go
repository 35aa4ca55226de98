package alerting

import (
	"sort"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/promfed/promfed/internal/testmocks"
)

func TestEncryptedTopicWithSubscriptions(t *testing.T) {
	m, err := testmocks.Run("promfed", "dev", nil, nil, func(ctx *pulumi.Context) error {
		_, err := NewTopic(ctx, "promfed-dev-alerts", &TopicArgs{
			Emails: []string{"oncall@example.com"}, HTTPSEndpoints: []string{"https://events.example.com/sns"},
			ShardEmails: []ShardEmail{{"apps", "apps-team@example.com"}, {"data", "data-team@example.com"}},
			Tags:        map[string]string{"promfed:stack": "dev"},
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	key := m.Named(t, "aws:kms/key:Key", "promfed-dev-alerts")
	if key.Get("enableKeyRotation") != true || key.Tags()["promfed:stack"] != "dev" {
		t.Errorf("key %v", key.Inputs)
	}
	topic := m.Named(t, "aws:sns/topic:Topic", "promfed-dev-alerts")
	if !strings.Contains(topic.Str("kmsMasterKeyId"), "key/promfed-dev-alerts") || topic.Tags()["promfed:stack"] != "dev" {
		t.Errorf("topic not encrypted with its key: %v", topic.Inputs)
	}
	var subs []string
	for _, s := range m.OfType("aws:sns/topicSubscription:TopicSubscription") {
		subs = append(subs, s.Str("protocol")+":"+s.Str("endpoint"))
	}
	sort.Strings(subs)
	if strings.Join(subs, " ") != "email:apps-team@example.com email:data-team@example.com email:oncall@example.com https:https://events.example.com/sns" {
		t.Errorf("subscriptions %v", subs)
	}
	// The whole-stack subscriptions take everything; a shard's only its own.
	for name, want := range map[string]string{
		"promfed-dev-alerts-email-1": "", "promfed-dev-alerts-shard-apps-email-1": `{"shard":["apps"]}`, "promfed-dev-alerts-shard-data-email-1": `{"shard":["data"]}`,
	} {
		s := m.Named(t, "aws:sns/topicSubscription:TopicSubscription", name)
		if s.Str("filterPolicy") != want || (want != "" && s.Str("filterPolicyScope") != "MessageAttributes") {
			t.Errorf("%s filter %q scope %q, want %q", name, s.Str("filterPolicy"), s.Str("filterPolicyScope"), want)
		}
	}
}

func TestNilArgsRefused(t *testing.T) {
	_, err := testmocks.Run("promfed", "dev", nil, nil, func(ctx *pulumi.Context) error {
		_, err := NewTopic(ctx, "x", nil)
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "args are required") {
		t.Fatalf("got %v", err)
	}
}

// CloudWatch alarms publish to the encrypted topic: its key must let them.
func TestKeyPolicyAdmitsCloudWatchAlarms(t *testing.T) {
	p := KeyPolicy("aws", "123456789012")
	for _, want := range []string{`"Principal":{"Service":"cloudwatch.amazonaws.com"}`, `"Action":["kms:Decrypt","kms:GenerateDataKey"]`,
		`"Principal":{"AWS":"arn:aws:iam::123456789012:root"}`} {
		if !strings.Contains(p, want) {
			t.Errorf("key policy lacks %s: %s", want, p)
		}
	}
	if strings.Contains(p, `"kms:*"`) {
		t.Errorf("wildcard action: %s", p)
	}
}
