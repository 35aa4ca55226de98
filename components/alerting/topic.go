// Package alerting provides the Topic component: the SNS topic the primary's
// Alertmanager publishes notifications to, encrypted with a key of its own,
// and the subscriptions (email, HTTPS endpoints) that deliver them to people.
package alerting

import (
	"encoding/json"
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sns"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/promfed/promfed/internal/iampolicy"
	"github.com/promfed/promfed/internal/stackkey"
	"github.com/promfed/promfed/internal/tagging"
)

// TopicArgs configures the topic.
type TopicArgs struct {
	// Emails and HTTPSEndpoints are subscribed; each subscriber confirms
	// (email: a link in the first mail; https: the SubscriptionConfirmation).
	Emails         []string
	HTTPSEndpoints []string
	// ShardEmails receive one shard's notifications only.
	ShardEmails []ShardEmail
	// Partition and Account name the account whose IAM may use the topic's
	// key; CloudWatch alarms may too (they publish to the topic).
	Partition, Account string
	Tags               map[string]string
}

// KeyPolicy lets the account's IAM grant use of the topic's key (the
// primary's role publishes) and CloudWatch alarms encrypt what they publish.
func KeyPolicy(partition, account string) string {
	return iampolicy.Document(
		stackkey.AccountStatement(partition, account),
		iampolicy.Statement{"Sid": "CloudWatchAlarms", "Effect": "Allow", "Principal": map[string]any{"Service": "cloudwatch.amazonaws.com"},
			"Action": []string{"kms:Decrypt", "kms:GenerateDataKey"}, "Resource": "*"},
	)
}

// ShardEmail subscribes an address to the notifications of one shard.
type ShardEmail struct {
	Shard, Email string
}

// ShardFilterPolicy selects the notifications of one shard by the "shard"
// message attribute Alertmanager sets on every SNS notification.
func ShardFilterPolicy(shard string) string {
	b, _ := json.Marshal(map[string][]string{"shard": {shard}})
	return string(b)
}

// Topic is the alert topic and its key.
type Topic struct {
	pulumi.ResourceState

	TopicArn pulumi.StringOutput
	KeyArn   pulumi.StringOutput
}

// NewTopic creates the key, the topic and its subscriptions.
func NewTopic(ctx *pulumi.Context, name string, args *TopicArgs, opts ...pulumi.ResourceOption) (*Topic, error) {
	if args == nil {
		return nil, fmt.Errorf("alerting topic %s: args are required", name)
	}
	t := &Topic{}
	if err := ctx.RegisterComponentResource("promfed:alerting:Topic", name, t, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(t)
	// A key of the stack's own rather than AWS's managed SNS key, so that
	// IAM decides who may publish (the primary's role) and the key rotates.
	key, err := stackkey.New(ctx, name, stackkey.Args{
		Alias: name, Description: pulumi.Sprintf("promfed alert topic %s", name), Tags: args.Tags,
		Policy: pulumi.String(KeyPolicy(args.Partition, args.Account)),
	}, parent)
	if err != nil {
		return nil, err
	}
	topic, err := sns.NewTopic(ctx, name, &sns.TopicArgs{
		KmsMasterKeyId: key.Arn,
		Tags:           tagging.Named(args.Tags, name),
	}, parent)
	if err != nil {
		return nil, err
	}
	for i, e := range args.Emails {
		if _, err := sns.NewTopicSubscription(ctx, fmt.Sprintf("%s-email-%d", name, i+1), &sns.TopicSubscriptionArgs{
			Topic: topic.Arn, Protocol: pulumi.String("email"), Endpoint: pulumi.String(e),
		}, parent); err != nil {
			return nil, err
		}
	}
	for i, u := range args.HTTPSEndpoints {
		if _, err := sns.NewTopicSubscription(ctx, fmt.Sprintf("%s-https-%d", name, i+1), &sns.TopicSubscriptionArgs{
			Topic: topic.Arn, Protocol: pulumi.String("https"), Endpoint: pulumi.String(u),
		}, parent); err != nil {
			return nil, err
		}
	}
	n := map[string]int{}
	for _, se := range args.ShardEmails {
		n[se.Shard]++
		if _, err := sns.NewTopicSubscription(ctx, fmt.Sprintf("%s-shard-%s-email-%d", name, se.Shard, n[se.Shard]), &sns.TopicSubscriptionArgs{
			Topic: topic.Arn, Protocol: pulumi.String("email"), Endpoint: pulumi.String(se.Email),
			FilterPolicy: pulumi.String(ShardFilterPolicy(se.Shard)), FilterPolicyScope: pulumi.String("MessageAttributes"),
		}, parent); err != nil {
			return nil, err
		}
	}
	t.TopicArn, t.KeyArn = topic.Arn, key.Arn
	return t, ctx.RegisterResourceOutputs(t, pulumi.Map{"topicArn": t.TopicArn, "keyArn": t.KeyArn})
}
