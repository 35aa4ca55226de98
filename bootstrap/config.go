package main

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"
)

// projectName is the config namespace of this project.
const projectName = "promfed-bootstrap"

// settings is the validated configuration of the bootstrap stack.
type settings struct {
	Region string
	// GitHubRepo is "owner/repo"; only workflows of this repository may
	// assume the CI roles.
	GitHubRepo string
	// StateBucket is the name of the state bucket.
	StateBucket string
	// KMSAlias is the alias name without the "alias/" prefix.
	KMSAlias string
	// OIDCProviderARN, when set, reuses an existing GitHub OIDC provider
	// (there can be only one per URL and account).
	OIDCProviderARN string
	// RolePrefix names the two CI roles: <prefix>-preview, <prefix>-deploy.
	RolePrefix string
	// MainBranch is the branch whose pushes deploy dev.
	MainBranch string
	// DeployEnvironment is the GitHub environment of the gated prod deploy.
	DeployEnvironment string
	// NoncurrentDays is how long old state versions are kept.
	NoncurrentDays int
	// StackIAMPrefix limits the IAM roles, instance profiles and policies,
	// the SNS topics and the KMS aliases the deploy role may manage to names
	// starting with it ("" = any name in the account).
	StackIAMPrefix string
	// StackBucketPrefix limits the S3 buckets the deploy role may manage
	// (the ALB access-log bucket) to names starting with it ("" = any).
	StackBucketPrefix string
}

// configError names the key, the value and the rule it broke.
type configError struct {
	Key, Value, Rule string
}

func (e *configError) Error() string {
	return fmt.Sprintf("invalid config %s = %q: %s", e.Key, e.Value, e.Rule)
}

// invalid builds the error for a key of this project's namespace.
func invalid(key, value, rule string) *configError {
	return &configError{Key: projectName + ":" + key, Value: value, Rule: rule}
}

var (
	// GitHub owner: alphanumerics and single hyphens; repo: alphanumerics, '-', '_', '.'.
	repoRe = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$`)
	// S3 bucket naming rules (general purpose buckets), minus the dotted
	// forms: dots break virtual-hosted TLS certificates.
	bucketRe   = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$`)
	aliasRe    = regexp.MustCompile(`^[A-Za-z0-9/_-]{1,250}$`)
	oidcARNRe  = regexp.MustCompile(`^arn:aws(?:-[a-z]+)*:iam::[0-9]{12}:oidc-provider/token\.actions\.githubusercontent\.com$`)
	nameRe     = regexp.MustCompile(`^[A-Za-z0-9+=,.@_-]{1,40}$`)
	prefixRe   = regexp.MustCompile(`^[A-Za-z0-9+=,.@_-]{0,40}$`)
	bktPfxRe   = regexp.MustCompile(`^(?:[a-z0-9][a-z0-9-]{0,39})?$`)
	branchRe   = regexp.MustCompile(`^[A-Za-z0-9._/-]{1,200}$`)
	envRe      = regexp.MustCompile(`^[A-Za-z0-9._-]{1,255}$`)
	regionRe   = regexp.MustCompile(`^[a-z]{2}(?:-gov)?-[a-z]+-\d$`)
	ipLikeRe   = regexp.MustCompile(`^\d+\.\d+\.\d+\.\d+$`)
	reservedS3 = []string{"xn--", "sthree-", "amzn-s3-demo-"}
)

// loadSettings reads and validates the stack configuration.
func loadSettings(ctx *pulumi.Context) (*settings, error) {
	get := func(key, def string) string {
		if v := config.Get(ctx, projectName+":"+key); v != "" {
			return v
		}
		return def
	}
	region := config.Get(ctx, "aws:region")
	s := &settings{
		Region:            region,
		GitHubRepo:        get("githubRepo", ""),
		StateBucket:       get("stateBucket", ""),
		KMSAlias:          get("kmsAlias", "promfed-state"),
		OIDCProviderARN:   get("githubOidcProviderArn", ""),
		RolePrefix:        get("rolePrefix", "promfed-ci"),
		MainBranch:        get("mainBranch", "main"),
		DeployEnvironment: get("deployEnvironment", "prod"),
		StackIAMPrefix:    get("stackIamPrefix", ""),
		StackBucketPrefix: get("stackBucketPrefix", ""),
	}
	days := get("noncurrentVersionDays", "90")
	n, err := strconv.Atoi(days)
	if err != nil || n < 1 || n > 3650 {
		return nil, invalid("noncurrentVersionDays", days, "must be a whole number of days from 1 to 3650")
	}
	s.NoncurrentDays = n
	if err := s.validate(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *settings) validate() error {
	switch {
	case !regionRe.MatchString(s.Region):
		return &configError{Key: "aws:region", Value: s.Region,
			Rule: "must be an AWS region such as eu-west-1"}
	case s.GitHubRepo == "":
		return invalid("githubRepo", s.GitHubRepo, "is required: the GitHub repository as owner/repo")
	case !repoRe.MatchString(s.GitHubRepo) || strings.Contains(s.GitHubRepo, "--") ||
		strings.HasSuffix(strings.SplitN(s.GitHubRepo, "/", 2)[0], "-"):
		return invalid("githubRepo", s.GitHubRepo,
			"must be owner/repo (owner: letters, digits, single hyphens; repo: letters, digits, '.', '_', '-')")
	case s.StateBucket == "":
		return invalid("stateBucket", s.StateBucket, "is required: the globally unique state bucket name")
	case !bucketRe.MatchString(s.StateBucket) || ipLikeRe.MatchString(s.StateBucket) ||
		strings.HasSuffix(s.StateBucket, "-s3alias") || strings.HasSuffix(s.StateBucket, "--ol-s3"):
		return invalid("stateBucket", s.StateBucket,
			"must be 3-63 characters of lowercase letters, digits and hyphens, starting and ending with a letter or digit")
	case !aliasRe.MatchString(s.KMSAlias) || strings.HasPrefix(s.KMSAlias, "alias/") ||
		strings.HasPrefix(strings.ToLower(s.KMSAlias), "aws/"):
		return invalid("kmsAlias", s.KMSAlias,
			"must be the alias name without 'alias/' (letters, digits, '/', '_', '-'), not in the reserved aws/ namespace")
	case s.OIDCProviderARN != "" && !oidcARNRe.MatchString(s.OIDCProviderARN):
		return invalid("githubOidcProviderArn", s.OIDCProviderARN,
			"must be arn:aws:iam::<12-digit account>:oidc-provider/token.actions.githubusercontent.com")
	case !nameRe.MatchString(s.RolePrefix):
		return invalid("rolePrefix", s.RolePrefix, "must be 1-40 characters of letters, digits and +=,.@_-")
	case !branchRe.MatchString(s.MainBranch) || strings.Contains(s.MainBranch, ".."):
		return invalid("mainBranch", s.MainBranch, "must be a branch name (letters, digits, '.', '_', '/', '-')")
	case !envRe.MatchString(s.DeployEnvironment):
		return invalid("deployEnvironment", s.DeployEnvironment,
			"must be a GitHub environment name (letters, digits, '.', '_', '-')")
	case !prefixRe.MatchString(s.StackIAMPrefix):
		return invalid("stackIamPrefix", s.StackIAMPrefix, "must be at most 40 characters of letters, digits and +=,.@_-")
	case !bktPfxRe.MatchString(s.StackBucketPrefix):
		return invalid("stackBucketPrefix", s.StackBucketPrefix,
			"must be empty or up to 40 lowercase letters, digits and hyphens, starting with a letter or digit")
	}
	for _, p := range reservedS3 {
		if strings.HasPrefix(s.StateBucket, p) {
			return invalid("stateBucket", s.StateBucket, "must not start with the reserved prefix "+p)
		}
	}
	return nil
}
