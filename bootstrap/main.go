// Command bootstrap is the one-off Pulumi program, run once per AWS account
// with a local file backend, that creates what the team's shared Pulumi
// workflow needs: the S3 state bucket, the KMS key behind the awskms://
// secrets provider, the GitHub Actions OIDC provider and two CI roles
// (preview for pull requests, deploy for main and the prod environment).
// See docs/team.md.
package main

import (
	"fmt"
	"sort"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/kms"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
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
	partition := "aws"
	if parts := strings.SplitN(caller.Arn, ":", 3); len(parts) == 3 && parts[0] == "arn" {
		partition = parts[1]
	}
	tags := pulumi.StringMap{"project": pulumi.String("promfed"), "managed-by": pulumi.String(projectName)}

	// KMS key: encrypts the state objects (SSE-KMS) and is the awskms://
	// secrets provider of every stack. Without a key policy, AWS applies the
	// default one, which lets IAM policies in this account grant use of it.
	key, err := kms.NewKey(ctx, "state", &kms.KeyArgs{
		Description:          pulumi.String("promfed Pulumi state encryption and secrets provider"),
		EnableKeyRotation:    pulumi.Bool(true),
		DeletionWindowInDays: pulumi.Int(30),
		Tags:                 tags,
	}, pulumi.Protect(true))
	if err != nil {
		return err
	}
	alias, err := kms.NewAlias(ctx, "state", &kms.AliasArgs{
		Name:        pulumi.String("alias/" + s.KMSAlias),
		TargetKeyId: key.KeyId,
	})
	if err != nil {
		return err
	}

	bucket, err := newStateBucket(ctx, s, key, tags)
	if err != nil {
		return err
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

	idsOut := pulumi.All(bucket.Arn, key.Arn, oidcARN).ApplyT(func(v []any) ids {
		return ids{Partition: partition, Account: caller.AccountId,
			BucketARN: v[0].(string), KeyARN: v[1].(string), OIDCARN: v[2].(string)}
	})
	jsonOf := func(f func(ids) policyDocument) pulumi.StringOutput {
		return idsOut.ApplyT(func(v any) (string, error) { return f(v.(ids)).JSON() }).(pulumi.StringOutput)
	}

	preview, err := newCIRole(ctx, s, "preview",
		"Pulumi preview of pull requests: read state, lock, decrypt",
		jsonOf(func(id ids) policyDocument { return trustPolicy(id.OIDCARN, previewSubjects(s)) }),
		map[string]pulumi.StringOutput{
			"preview": jsonOf(previewPolicy),
		}, tags)
	if err != nil {
		return err
	}
	deployDocs := map[string]pulumi.StringOutput{}
	for _, name := range []string{"state", "network", "edge", "alerts", "iam-s3"} {
		deployDocs[name] = jsonOf(func(id ids) policyDocument { return deployPolicies(s, id)[name] })
	}
	deploy, err := newCIRole(ctx, s, "deploy",
		"Pulumi up of main (dev) and the gated prod environment",
		jsonOf(func(id ids) policyDocument { return trustPolicy(id.OIDCARN, deploySubjects(s)) }),
		deployDocs, tags)
	if err != nil {
		return err
	}

	ctx.Export("stateBucket", bucket.Bucket)
	ctx.Export("backendUrl", pulumi.Sprintf("s3://%s?region=%s&awssdk=v2", bucket.Bucket, s.Region))
	ctx.Export("secretsProvider", pulumi.Sprintf("awskms://%s?region=%s", alias.Name, s.Region))
	ctx.Export("kmsKeyArn", key.Arn)
	ctx.Export("oidcProviderArn", oidcARN)
	ctx.Export("previewRoleArn", preview.Arn)
	ctx.Export("deployRoleArn", deploy.Arn)
	return nil
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
				BucketKeyEnabled: pulumi.Bool(true),
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

// newCIRole creates <rolePrefix>-<kind> with the trust policy and one managed
// policy per document (named <rolePrefix>-<kind>-<doc>).
func newCIRole(ctx *pulumi.Context, s *settings, kind, description string, trust pulumi.StringOutput,
	docs map[string]pulumi.StringOutput, tags pulumi.StringMap) (*iam.Role, error) {
	name := s.RolePrefix + "-" + kind
	role, err := iam.NewRole(ctx, kind, &iam.RoleArgs{
		Name:               pulumi.String(name),
		Description:        pulumi.String(description),
		AssumeRolePolicy:   trust,
		MaxSessionDuration: pulumi.Int(3600),
		Tags:               tags,
	})
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(docs))
	for n := range docs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		policy, err := iam.NewPolicy(ctx, kind+"-"+n, &iam.PolicyArgs{
			Name:        pulumi.String(name + "-" + n),
			Description: pulumi.String(fmt.Sprintf("promfed CI %s role: %s", kind, n)),
			Policy:      docs[n],
			Tags:        tags,
		}, pulumi.Parent(role))
		if err != nil {
			return nil, err
		}
		if _, err := iam.NewRolePolicyAttachment(ctx, kind+"-"+n, &iam.RolePolicyAttachmentArgs{
			Role:      role.Name,
			PolicyArn: policy.Arn,
		}, pulumi.Parent(role)); err != nil {
			return nil, err
		}
	}
	return role, nil
}
