// Command bootstrap is the one-off Pulumi program, run once per AWS account
// with a local file backend, that creates what the team's shared Pulumi
// workflow needs: the S3 state bucket (and its access-log bucket), the KMS
// key that encrypts the state, one awskms:// secrets key per stack, the
// permissions boundary every stack role carries, the GitHub Actions OIDC
// provider and, per stack, a preview and a deploy role. See docs/team.md
// and docs/security.md.
package main

import (
	"fmt"
	"sort"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/kms"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/promfed/promfed/internal/contract"
)

func main() {
	pulumi.Run(program)
}

func program(ctx *pulumi.Context) error {
	s, err := loadSettings(ctx)
	if err != nil {
		return err
	}
	caller, err := aws.GetCallerIdentity(ctx, nil)
	if err != nil {
		return fmt.Errorf("get caller identity: %w", err)
	}
	part, err := aws.GetPartition(ctx, nil)
	if err != nil {
		return fmt.Errorf("get partition: %w", err)
	}
	partition := part.Partition
	tags := pulumi.StringMap{"project": pulumi.String("promfed"), "managed-by": pulumi.String(projectName)}
	admins := s.KeyAdministrators
	if len(admins) == 0 {
		admins = []string{fmt.Sprintf("arn:%s:iam::%s:root", partition, caller.AccountId)}
	}

	var oidcARN pulumi.StringOutput
	if s.OIDCProviderARN != "" {
		oidcARN = pulumi.String(s.OIDCProviderARN).ToStringOutput()
	} else {
		provider, err := iam.NewOpenIdConnectProvider(ctx, "github", &iam.OpenIdConnectProviderArgs{
			Url:           pulumi.String("https://" + githubOIDCHost),
			ClientIdLists: pulumi.StringArray{pulumi.String("sts.amazonaws.com")},
			// No thumbprints: AWS validates GitHub's token endpoint against
			// its own trusted root CAs.
			Tags: tags,
		})
		if err != nil {
			return err
		}
		oidcARN = provider.Arn
	}

	// Roles first (trust only): the key policies name them, and KMS refuses
	// a policy whose principal does not exist yet.
	type stackRoles struct{ preview, deploy *iam.Role }
	roles := map[string]stackRoles{}
	for _, stack := range s.Stacks {
		preview, err := newCIRole(ctx, s, "preview", stack,
			fmt.Sprintf("Pulumi preview of stack %s: read its state, decrypt its secrets", stack),
			oidcARN.ApplyT(func(arn string) (string, error) { return trustPolicy(arn, previewSubjects(s, stack)).JSON() }).(pulumi.StringOutput), tags)
		if err != nil {
			return err
		}
		deploy, err := newCIRole(ctx, s, "deploy", stack,
			fmt.Sprintf("Pulumi up of stack %s from its GitHub environment", stack),
			oidcARN.ApplyT(func(arn string) (string, error) { return trustPolicy(arn, deploySubjects(s, stack)).JSON() }).(pulumi.StringOutput), tags)
		if err != nil {
			return err
		}
		roles[stack] = stackRoles{preview, deploy}
	}
	var roleARNs []any
	for _, stack := range s.Stacks {
		roleARNs = append(roleARNs, roles[stack].preview.Arn, roles[stack].deploy.Arn)
	}
	ciRoleARNs := pulumi.All(roleARNs...).ApplyT(func(v []any) map[string]ciRoles {
		out := map[string]ciRoles{}
		for i, stack := range s.Stacks {
			out[stack] = ciRoles{Preview: v[2*i].(string), Deploy: v[2*i+1].(string)}
		}
		return out
	})

	bucketARN := fmt.Sprintf("arn:%s:s3:::%s", partition, s.StateBucket)
	stateKey, err := newKey(ctx, "state", "alias/"+s.KMSAlias, "promfed Pulumi state encryption (SSE-KMS of the state bucket)",
		ciRoleARNs.ApplyT(func(v any) (string, error) {
			id := ids{Partition: partition, Account: caller.AccountId, BucketARN: bucketARN}
			return stateKeyPolicy(s, id, admins, v.(map[string]ciRoles)).JSON()
		}).(pulumi.StringOutput), tags)
	if err != nil {
		return err
	}
	secretsKeys := map[string]*kms.Key{}
	secretsProviders := pulumi.StringMap{}
	for _, stack := range s.Stacks {
		alias := "alias/" + s.KMSAlias + "-" + stack
		key, err := newKey(ctx, "secrets-"+stack, alias, "promfed Pulumi secrets provider of stack "+stack,
			ciRoleARNs.ApplyT(func(v any) (string, error) {
				return secretsKeyPolicy(admins, v.(map[string]ciRoles)[stack]).JSON()
			}).(pulumi.StringOutput), tags)
		if err != nil {
			return err
		}
		secretsKeys[stack] = key
		secretsProviders[stack] = pulumi.String(fmt.Sprintf("awskms://%s?region=%s", alias, s.Region))
	}

	bucket, err := newStateBucket(ctx, s, stateKey, tags)
	if err != nil {
		return err
	}
	logs, err := newAccessLogBucket(ctx, s, caller.AccountId, bucket, tags)
	if err != nil {
		return err
	}

	boundaryDoc, err := boundaryPolicy().JSON()
	if err != nil {
		return err
	}
	boundary, err := iam.NewPolicy(ctx, "stack-boundary", &iam.PolicyArgs{
		Name:        pulumi.String(contract.BoundaryPolicyName(s.StackNamePrefix)),
		Path:        pulumi.String(contract.BoundaryPolicyPath(s.StackNamePrefix)),
		Description: pulumi.String("promfed: permissions boundary of every role a stack creates"),
		Policy:      pulumi.String(boundaryDoc),
		Tags:        tags,
	})
	if err != nil {
		return err
	}

	keyARNs := []any{bucket.Arn, stateKey.Arn, oidcARN}
	for _, stack := range s.Stacks {
		keyARNs = append(keyARNs, secretsKeys[stack].Arn)
	}
	idsOut := pulumi.All(keyARNs...).ApplyT(func(v []any) ids {
		id := ids{Partition: partition, Account: caller.AccountId, BucketARN: v[0].(string), StateKeyARN: v[1].(string),
			OIDCARN: v[2].(string), SecretsKeyARNs: map[string]string{}}
		for i, stack := range s.Stacks {
			id.SecretsKeyARNs[stack] = v[3+i].(string)
		}
		return id
	})
	jsonOf := func(f func(*settings, ids) policyDocument) pulumi.StringOutput {
		return idsOut.ApplyT(func(v any) (string, error) { return f(s, v.(ids)).JSON() }).(pulumi.StringOutput)
	}
	previewARNs, deployARNs := pulumi.StringMap{}, pulumi.StringMap{}
	for _, stack := range s.Stacks {
		if err := attachPolicies(ctx, s, roles[stack].preview, "preview", stack,
			map[string]pulumi.StringOutput{"state": jsonOf(previewPolicy(stack))}, tags); err != nil {
			return err
		}
		docs := map[string]pulumi.StringOutput{}
		for name, f := range deployPolicies(stack) {
			docs[name] = jsonOf(f)
		}
		if err := attachPolicies(ctx, s, roles[stack].deploy, "deploy", stack, docs, tags); err != nil {
			return err
		}
		previewARNs[stack], deployARNs[stack] = roles[stack].preview.Arn, roles[stack].deploy.Arn
	}

	ctx.Export("stateBucket", bucket.Bucket)
	ctx.Export("accessLogBucket", logs.Bucket)
	ctx.Export("backendUrl", pulumi.Sprintf("s3://%s?region=%s&awssdk=v2", bucket.Bucket, s.Region))
	ctx.Export("stateKeyArn", stateKey.Arn)
	ctx.Export("secretsProviders", secretsProviders)
	ctx.Export("permissionsBoundaryArn", boundary.Arn)
	ctx.Export("oidcProviderArn", oidcARN)
	ctx.Export("previewRoleArns", previewARNs)
	ctx.Export("deployRoleArns", deployARNs)
	return nil
}

// newKey creates a protected, rotating KMS key with an explicit policy and
// its alias.
func newKey(ctx *pulumi.Context, name, alias, description string, policy pulumi.StringOutput, tags pulumi.StringMap) (*kms.Key, error) {
	key, err := kms.NewKey(ctx, name, &kms.KeyArgs{
		Description:          pulumi.String(description),
		EnableKeyRotation:    pulumi.Bool(true),
		DeletionWindowInDays: pulumi.Int(30),
		Policy:               policy,
		Tags:                 tags,
	}, pulumi.Protect(true))
	if err != nil {
		return nil, err
	}
	_, err = kms.NewAlias(ctx, name, &kms.AliasArgs{
		Name:        pulumi.String(alias),
		TargetKeyId: key.KeyId,
	}, pulumi.Parent(key))
	return key, err
}

// newStateBucket creates the versioned, KMS-encrypted, private, TLS-only
// state bucket. The bucket is protected: `pulumi destroy` refuses to touch it.
func newStateBucket(ctx *pulumi.Context, s *settings, key *kms.Key, tags pulumi.StringMap) (*s3.BucketV2, error) {
	bucket, err := s3.NewBucketV2(ctx, "state", &s3.BucketV2Args{
		Bucket: pulumi.String(s.StateBucket),
		Tags:   tags,
	}, pulumi.Protect(true))
	if err != nil {
		return nil, err
	}
	child := pulumi.Parent(bucket)
	versioning, err := s3.NewBucketVersioningV2(ctx, "state", &s3.BucketVersioningV2Args{
		Bucket: bucket.ID(),
		VersioningConfiguration: &s3.BucketVersioningV2VersioningConfigurationArgs{
			Status: pulumi.String("Enabled"),
		},
	}, child)
	if err != nil {
		return nil, err
	}
	if _, err := s3.NewBucketServerSideEncryptionConfigurationV2(ctx, "state", &s3.BucketServerSideEncryptionConfigurationV2Args{
		Bucket: bucket.ID(),
		Rules: s3.BucketServerSideEncryptionConfigurationV2RuleArray{
			&s3.BucketServerSideEncryptionConfigurationV2RuleArgs{
				ApplyServerSideEncryptionByDefault: &s3.BucketServerSideEncryptionConfigurationV2RuleApplyServerSideEncryptionByDefaultArgs{
					SseAlgorithm:   pulumi.String("aws:kms"),
					KmsMasterKeyId: key.Arn,
				},
				// Off: with a bucket key S3 would pass the bucket's ARN as
				// the encryption context instead of each object's, and the
				// key policy could not tell one stack's state from another's.
				BucketKeyEnabled: pulumi.Bool(false),
			},
		},
	}, child); err != nil {
		return nil, err
	}
	pab, err := s3.NewBucketPublicAccessBlock(ctx, "state", &s3.BucketPublicAccessBlockArgs{
		Bucket:                bucket.ID(),
		BlockPublicAcls:       pulumi.Bool(true),
		BlockPublicPolicy:     pulumi.Bool(true),
		IgnorePublicAcls:      pulumi.Bool(true),
		RestrictPublicBuckets: pulumi.Bool(true),
	}, child)
	if err != nil {
		return nil, err
	}
	if _, err := s3.NewBucketOwnershipControls(ctx, "state", &s3.BucketOwnershipControlsArgs{
		Bucket: bucket.ID(),
		Rule: &s3.BucketOwnershipControlsRuleArgs{
			ObjectOwnership: pulumi.String("BucketOwnerEnforced"),
		},
	}, child); err != nil {
		return nil, err
	}
	policy := bucket.Arn.ApplyT(func(arn string) (string, error) {
		return stateBucketPolicy(arn).JSON()
	}).(pulumi.StringOutput)
	if _, err := s3.NewBucketPolicy(ctx, "state", &s3.BucketPolicyArgs{
		Bucket: bucket.ID(),
		Policy: policy,
	}, child, pulumi.DependsOn([]pulumi.Resource{pab})); err != nil {
		return nil, err
	}
	if _, err := s3.NewBucketLifecycleConfigurationV2(ctx, "state", &s3.BucketLifecycleConfigurationV2Args{
		Bucket: bucket.ID(),
		Rules: s3.BucketLifecycleConfigurationV2RuleArray{
			&s3.BucketLifecycleConfigurationV2RuleArgs{
				Id:     pulumi.String("expire-noncurrent-state"),
				Status: pulumi.String("Enabled"),
				Filter: &s3.BucketLifecycleConfigurationV2RuleFilterArgs{Prefix: pulumi.String("")},
				NoncurrentVersionExpiration: &s3.BucketLifecycleConfigurationV2RuleNoncurrentVersionExpirationArgs{
					NoncurrentDays: pulumi.Int(s.NoncurrentDays),
				},
				AbortIncompleteMultipartUpload: &s3.BucketLifecycleConfigurationV2RuleAbortIncompleteMultipartUploadArgs{
					DaysAfterInitiation: pulumi.Int(7),
				},
			},
		},
	}, child, pulumi.DependsOn([]pulumi.Resource{versioning})); err != nil {
		return nil, err
	}
	return bucket, nil
}

// newCIRole creates <rolePrefix>-<kind>-<stack> with its trust policy.
func newCIRole(ctx *pulumi.Context, s *settings, kind, stack, description string, trust pulumi.StringOutput,
	tags pulumi.StringMap) (*iam.Role, error) {
	return iam.NewRole(ctx, kind+"-"+stack, &iam.RoleArgs{
		Name:               pulumi.String(roleName(s, kind, stack)),
		Description:        pulumi.String(description),
		AssumeRolePolicy:   trust,
		MaxSessionDuration: pulumi.Int(3600),
		Tags:               tags,
	})
}

// attachPolicies gives role one managed policy per document, named
// <role name>-<doc>.
func attachPolicies(ctx *pulumi.Context, s *settings, role *iam.Role, kind, stack string,
	docs map[string]pulumi.StringOutput, tags pulumi.StringMap) error {
	name := roleName(s, kind, stack)
	names := make([]string, 0, len(docs))
	for n := range docs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		res := kind + "-" + stack + "-" + n
		policy, err := iam.NewPolicy(ctx, res, &iam.PolicyArgs{
			Name:        pulumi.String(name + "-" + n),
			Description: pulumi.String(fmt.Sprintf("promfed CI %s role of stack %s: %s", kind, stack, n)),
			Policy:      docs[n],
			Tags:        tags,
		}, pulumi.Parent(role))
		if err != nil {
			return err
		}
		if _, err := iam.NewRolePolicyAttachment(ctx, res, &iam.RolePolicyAttachmentArgs{
			Role:      role.Name,
			PolicyArn: policy.Arn,
		}, pulumi.Parent(role)); err != nil {
			return err
		}
	}
	return nil
}

// newAccessLogBucket creates the bucket that receives the state bucket's
// S3 server access logs (who read or wrote which state object, from where).
// Server access logs can only be delivered with SSE-S3 encryption.
func newAccessLogBucket(ctx *pulumi.Context, s *settings, account string, state *s3.BucketV2, tags pulumi.StringMap) (*s3.BucketV2, error) {
	logs, err := s3.NewBucketV2(ctx, "access-logs", &s3.BucketV2Args{
		Bucket: pulumi.String(s.AccessLogBucket),
		Tags:   tags,
	}, pulumi.Protect(true))
	if err != nil {
		return nil, err
	}
	child := pulumi.Parent(logs)
	pab, err := s3.NewBucketPublicAccessBlock(ctx, "access-logs", &s3.BucketPublicAccessBlockArgs{
		Bucket: logs.ID(), BlockPublicAcls: pulumi.Bool(true), BlockPublicPolicy: pulumi.Bool(true),
		IgnorePublicAcls: pulumi.Bool(true), RestrictPublicBuckets: pulumi.Bool(true),
	}, child)
	if err != nil {
		return nil, err
	}
	if _, err := s3.NewBucketOwnershipControls(ctx, "access-logs", &s3.BucketOwnershipControlsArgs{
		Bucket: logs.ID(), Rule: &s3.BucketOwnershipControlsRuleArgs{ObjectOwnership: pulumi.String("BucketOwnerEnforced")},
	}, child); err != nil {
		return nil, err
	}
	if _, err := s3.NewBucketServerSideEncryptionConfigurationV2(ctx, "access-logs", &s3.BucketServerSideEncryptionConfigurationV2Args{
		Bucket: logs.ID(),
		Rules: s3.BucketServerSideEncryptionConfigurationV2RuleArray{
			&s3.BucketServerSideEncryptionConfigurationV2RuleArgs{
				ApplyServerSideEncryptionByDefault: &s3.BucketServerSideEncryptionConfigurationV2RuleApplyServerSideEncryptionByDefaultArgs{
					SseAlgorithm: pulumi.String("AES256"),
				},
			},
		},
	}, child); err != nil {
		return nil, err
	}
	policy := pulumi.All(logs.Arn, state.Arn).ApplyT(func(v []any) (string, error) {
		return accessLogBucketPolicy(v[0].(string), v[1].(string), account).JSON()
	}).(pulumi.StringOutput)
	if _, err := s3.NewBucketPolicy(ctx, "access-logs", &s3.BucketPolicyArgs{Bucket: logs.ID(), Policy: policy},
		child, pulumi.DependsOn([]pulumi.Resource{pab})); err != nil {
		return nil, err
	}
	if _, err := s3.NewBucketLifecycleConfigurationV2(ctx, "access-logs", &s3.BucketLifecycleConfigurationV2Args{
		Bucket: logs.ID(),
		Rules: s3.BucketLifecycleConfigurationV2RuleArray{
			&s3.BucketLifecycleConfigurationV2RuleArgs{
				Id: pulumi.String("expire-access-logs"), Status: pulumi.String("Enabled"),
				Filter:     &s3.BucketLifecycleConfigurationV2RuleFilterArgs{Prefix: pulumi.String("")},
				Expiration: &s3.BucketLifecycleConfigurationV2RuleExpirationArgs{Days: pulumi.Int(accessLogDays)},
			},
		},
	}, child); err != nil {
		return nil, err
	}
	_, err = s3.NewBucketLoggingV2(ctx, "state", &s3.BucketLoggingV2Args{
		Bucket:       state.ID(),
		TargetBucket: logs.ID(),
		TargetPrefix: pulumi.String("state/"),
	}, pulumi.Parent(state))
	return logs, err
}

// accessLogDays keeps a year of state access logs: long enough for an
// audit of who changed what.
const accessLogDays = 365
