// Package hostsecrets provides the Store component: where host secrets
// live instead of EC2 user data (which anyone with
// ec2:DescribeInstanceAttribute, and any local user through the metadata
// service, can read). Each secret is an SSM Parameter Store SecureString
// encrypted with the stack's host-secrets KMS key; each host's role may
// read and decrypt only its own parameters (the key's grant is bound to
// the parameter ARN through SSM's encryption context).
package hostsecrets

import (
	"fmt"
	"sort"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ssm"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/promfed/promfed/internal/contract"
	"github.com/promfed/promfed/internal/iampolicy"
	"github.com/promfed/promfed/internal/stackkey"
	"github.com/promfed/promfed/internal/tagging"
)

// StoreArgs configures the store.
type StoreArgs struct {
	NamePrefix, Stack string
	// Region is where the parameters live; hosts call SSM there.
	Region string
	// NameSuffix ("-<region>") ends the key alias of another region's
	// store: regional, it could repeat the home region's; distinct, it
	// tells the regions' keys apart.
	NameSuffix string
	Tags       map[string]string
}

// Store is the stack's host-secrets key.
type Store struct {
	pulumi.ResourceState

	KeyArn pulumi.StringOutput
	args   StoreArgs
}

// NewStore creates the key and its alias
// <namePrefix>-<stack>-host-secrets[-<region>].
func NewStore(ctx *pulumi.Context, name string, args *StoreArgs, opts ...pulumi.ResourceOption) (*Store, error) {
	if args == nil {
		return nil, fmt.Errorf("host secrets %s: no arguments", name)
	}
	s := &Store{args: *args}
	if err := ctx.RegisterComponentResource("promfed:hostsecrets:Store", name, s, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(s)
	key, err := stackkey.New(ctx, name, stackkey.Args{
		Alias:       contract.IAMName(args.NamePrefix, args.Stack, "host-secrets"+args.NameSuffix),
		Description: pulumi.Sprintf("promfed %s: host secrets in SSM Parameter Store", args.Stack), Tags: args.Tags,
	}, parent)
	if err != nil {
		return nil, err
	}
	s.KeyArn = key.Arn
	return s, ctx.RegisterResourceOutputs(s, pulumi.Map{"keyArn": key.Arn})
}

// Region is where the host fetches its secrets from.
func (s *Store) Region() string { return s.args.Region }

// Parameter is the parameter name of a host's secret.
func (s *Store) Parameter(host, secret string) string {
	return contract.SecretParameter(s.args.NamePrefix, s.args.Stack, host, secret)
}

// Put stores a host's secrets (secret name -> value) and lets the host's
// role read and decrypt exactly those parameters. Resources are named
// <host>-secret-<secret>; opts should parent them to the host. The host
// must depend on what Put returns: it reads the parameters at boot.
func (s *Store) Put(ctx *pulumi.Context, host string, role *iam.Role, values map[string]pulumi.StringInput, opts ...pulumi.ResourceOption) ([]pulumi.Resource, error) {
	names := make([]string, 0, len(values))
	for n := range values {
		names = append(names, n)
	}
	sort.Strings(names)
	arns := make([]any, 0, len(names))
	var made []pulumi.Resource
	for _, n := range names {
		p, err := ssm.NewParameter(ctx, host+"-secret-"+n, &ssm.ParameterArgs{
			Name:        pulumi.String(s.Parameter(host, n)),
			Type:        pulumi.String("SecureString"),
			KeyId:       s.KeyArn,
			Value:       pulumi.ToSecret(values[n]).(pulumi.StringOutput),
			Description: pulumi.Sprintf("promfed: %s of %s", n, host),
			Tags:        tagging.Named(s.args.Tags, host+"-"+n),
		}, opts...)
		if err != nil {
			return nil, err
		}
		arns = append(arns, p.Arn)
		made = append(made, p)
	}
	policy := pulumi.All(append([]any{s.KeyArn}, arns...)...).ApplyT(func(v []any) string {
		params := make([]string, 0, len(v)-1)
		for _, a := range v[1:] {
			params = append(params, a.(string))
		}
		return ReadPolicy(v[0].(string), params)
	}).(pulumi.StringOutput)
	grant, err := iam.NewRolePolicy(ctx, host+"-secrets", &iam.RolePolicyArgs{Role: role.Name, Policy: policy}, opts...)
	if err != nil {
		return nil, err
	}
	return append(made, grant), nil
}

// ReadPolicy lets a host read its own parameters and decrypt only them:
// SSM passes the parameter's ARN to KMS as the encryption context.
func ReadPolicy(keyArn string, parameterArns []string) string {
	return iampolicy.Document(
		iampolicy.Statement{"Sid": "ReadOwnSecrets", "Effect": "Allow", "Action": []string{"ssm:GetParameter"}, "Resource": parameterArns},
		iampolicy.Statement{"Sid": "DecryptOwnSecrets", "Effect": "Allow", "Action": []string{"kms:Decrypt"}, "Resource": keyArn,
			"Condition": map[string]any{"StringEquals": map[string]any{"kms:EncryptionContext:PARAMETER_ARN": parameterArns}}},
	)
}
