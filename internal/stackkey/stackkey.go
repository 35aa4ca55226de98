// Package stackkey creates the KMS keys a stack owns (alert topic, host
// secrets, session logs) the one way: rotating yearly, a 30-day deletion
// window, tagged with the stack (the deploy role manages only keys tagged
// with its stack), with an alias.
package stackkey

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/kms"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

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
