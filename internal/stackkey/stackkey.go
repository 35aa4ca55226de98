// Package stackkey creates the KMS keys a stack owns (alert topic, host
// secrets, session logs) the one way: rotating yearly, a 30-day deletion
// window, tagged with the stack (the deploy role manages only keys tagged
// with its stack), with an alias.
package stackkey

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/kms"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/promfed/promfed/internal/iampolicy"
	"github.com/promfed/promfed/internal/tagging"
)

// Args describes one key. Policy is optional: without it AWS's default
// key policy lets the account's IAM policies grant use.
type Args struct {
	Alias       string // without "alias/"
	Description pulumi.StringInput
	Policy      pulumi.StringInput
	Tags        map[string]string
}

// accountActions spell out what the account may do with a stack key
// through IAM (no wildcard): administer it and use it.
var accountActions = []string{
	"kms:CancelKeyDeletion", "kms:CreateAlias", "kms:Decrypt", "kms:DeleteAlias", "kms:DescribeKey", "kms:DisableKey",
	"kms:EnableKey", "kms:EnableKeyRotation", "kms:Encrypt", "kms:GenerateDataKey", "kms:GetKeyPolicy",
	"kms:GetKeyRotationStatus", "kms:ListResourceTags", "kms:PutKeyPolicy", "kms:ScheduleKeyDeletion",
	"kms:TagResource", "kms:UntagResource", "kms:UpdateAlias",
}

// AccountStatement is the key-policy statement that lets the account's
// IAM policies grant use of a key, for keys that also admit a service.
func AccountStatement(partition, account string) iampolicy.Statement {
	return iampolicy.Statement{"Sid": "AccountThroughIam", "Effect": "Allow",
		"Principal": map[string]any{"AWS": "arn:" + partition + ":iam::" + account + ":root"},
		"Action":    accountActions, "Resource": "*"}
}

// New creates the key name and its alias, both with opts.
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*kms.Key, error) {
	key, err := kms.NewKey(ctx, name, &kms.KeyArgs{
		Description:          args.Description,
		EnableKeyRotation:    pulumi.Bool(true),
		DeletionWindowInDays: pulumi.Int(30),
		Policy:               args.Policy,
		Tags:                 tagging.Named(args.Tags, name),
	}, opts...)
	if err != nil {
		return nil, err
	}
	_, err = kms.NewAlias(ctx, name, &kms.AliasArgs{Name: pulumi.String("alias/" + args.Alias), TargetKeyId: key.KeyId}, opts...)
	return key, err
}
