package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"

	"github.com/promfed/promfed/internal/contract"
)

// projectName is the config namespace of this project.
const projectName = "promfed-bootstrap"

// settings is the validated configuration of the bootstrap stack.
type settings struct {
	// Region is the home region (aws:region): the state bucket, the keys
	// and everything the main stacks create outside shards in other regions.
	Region string
	// ShardRegions are the other regions the stacks may put shards of
	// secondaries in; the deploy roles' grants for what a shard creates
	// (EC2, logs, DLM, SNS, KMS, SSM, alarms) cover them as well as Region.
	// Unique, none equal to Region, same partition.
	ShardRegions []string
	// GitHubRepo is "owner/repo"; only workflows of this repository may
	// assume the CI roles.
	GitHubRepo string
	// StateBucket is the name of the state bucket.
	StateBucket string
	// AccessLogBucket receives the state bucket's server access logs.
	AccessLogBucket string
	// KMSAlias is the base alias name without "alias/": the state bucket's
	// key is alias/<KMSAlias>, each stack's secrets key alias/<KMSAlias>-<stack>.
	KMSAlias string
	// OIDCProviderARN, when set, reuses an existing GitHub OIDC provider
	// (there can be only one per URL and account).
	OIDCProviderARN string
	// RolePrefix names the CI roles: <prefix>-preview-<stack>, <prefix>-deploy-<stack>.
	RolePrefix string
	// Stacks are the main program's stacks; each gets its own roles and key.
	Stacks []string
	// PullRequestStack is the one stack pull requests preview.
	PullRequestStack string
	// NoncurrentDays is how long old state versions are kept.
	NoncurrentDays int
	// StackNamePrefix is the main program's namePrefix: a stack's deploy role
	// may manage only IAM under /<prefix>/<stack>/, SNS topics and KMS
	// aliases named <prefix>-<stack>-*.
	StackNamePrefix string
	// StackBucketPrefix limits the S3 buckets the deploy roles may manage
	// (the ALB access-log bucket) to names starting with it ("" = any).
	StackBucketPrefix string
	// KeyAdministrators may administer the KMS keys (not use them).
	KeyAdministrators []string
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
	bktPfxRe   = regexp.MustCompile(`^(?:[a-z0-9][a-z0-9-]{0,39})?$`)
	stackRe    = regexp.MustCompile(`^[a-z][a-z0-9-]{0,19}$`)
	npRe       = regexp.MustCompile(`^[a-z][a-z0-9-]*[a-z0-9]$`)
	adminRe    = regexp.MustCompile(`^arn:aws(?:-[a-z]+)*:iam::[0-9]{12}:(?:root|role/[A-Za-z0-9+=,.@_/-]+|user/[A-Za-z0-9+=,.@_/-]+)$`)
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
		PullRequestStack:  get("pullRequestStack", "dev"),
		StackNamePrefix:   get("stackNamePrefix", "promfed"),
		StackBucketPrefix: get("stackBucketPrefix", ""),
	}
	s.AccessLogBucket = get("accessLogBucket", s.StateBucket+"-access-logs")
	days := get("noncurrentVersionDays", "90")
	n, err := strconv.Atoi(days)
	if err != nil || n < 1 || n > 3650 {
		return nil, invalid("noncurrentVersionDays", days, "must be a whole number of days from 1 to 3650")
	}
	s.NoncurrentDays = n
	for key, dst := range map[string]*[]string{"stacks": &s.Stacks, "keyAdministrators": &s.KeyAdministrators,
		"shardRegions": &s.ShardRegions} {
		raw := get(key, "")
		if raw == "" {
			continue
		}
		if err := json.Unmarshal([]byte(raw), dst); err != nil {
			return nil, invalid(key, raw, "must be a list of strings")
		}
	}
	if s.Stacks == nil {
		s.Stacks = []string{"dev", "prod"}
	}
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
	case len(s.Stacks) == 0:
		return invalid("stacks", "[]", "must name at least one stack")
	case !slices.Contains(s.Stacks, s.PullRequestStack):
		return invalid("pullRequestStack", s.PullRequestStack,
			fmt.Sprintf("must be one of stacks %v: the one stack pull requests may preview", s.Stacks))
	case !npRe.MatchString(s.StackNamePrefix) || len(s.StackNamePrefix) > 20:
		return invalid("stackNamePrefix", s.StackNamePrefix,
			"must be the main program's namePrefix: 2-20 lowercase letters, digits and hyphens, starting with a letter")
	case !bktPfxRe.MatchString(s.StackBucketPrefix):
		return invalid("stackBucketPrefix", s.StackBucketPrefix,
			"must be empty or up to 40 lowercase letters, digits and hyphens, starting with a letter or digit")
	}
	if err := s.validateShardRegions(); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, st := range s.Stacks {
		if !stackRe.MatchString(st) || seen[st] {
			return invalid("stacks", st, "each stack must be unique, 1-20 lowercase letters, digits and hyphens, starting with a letter")
		}
		if n := len(roleName(s, "preview", st)); n > contract.IAMNameMaxLen {
			return invalid("rolePrefix", s.RolePrefix, fmt.Sprintf("with stack %s makes the role name %s (%d characters): IAM allows %d",
				st, roleName(s, "preview", st), n, contract.IAMNameMaxLen))
		}
		seen[st] = true
	}
	for _, a := range s.KeyAdministrators {
		if !adminRe.MatchString(a) {
			return invalid("keyAdministrators", a, "each must be an IAM ARN of the account root, a role or a user")
		}
	}
	if !bucketRe.MatchString(s.AccessLogBucket) || s.AccessLogBucket == s.StateBucket {
		return invalid("accessLogBucket", s.AccessLogBucket,
			"must be a bucket name (3-63 lowercase letters, digits, hyphens) other than the state bucket")
	}
	for _, p := range reservedS3 {
		if strings.HasPrefix(s.StateBucket, p) {
			return invalid("stateBucket", s.StateBucket, "must not start with the reserved prefix "+p)
		}
	}
	if len(s.ShardRegions) > 0 {
		// Each shard region lengthens the grants that reach shard regions:
		// refuse a list whose policies IAM would reject halfway through
		// `pulumi up`.
		if name, n := largestPolicy(s); n > managedPolicyMaxLen {
			raw, _ := json.Marshal(s.ShardRegions)
			return invalid("shardRegions", string(raw), fmt.Sprintf(
				"makes policy %s %d characters: IAM allows %d; list fewer regions", name, n, managedPolicyMaxLen))
		}
	}
	return nil
}

// validateShardRegions checks shardRegions (aws:region is already valid).
func (s *settings) validateShardRegions() error {
	seen := map[string]bool{}
	for _, r := range s.ShardRegions {
		switch {
		case !regionRe.MatchString(r):
			return invalid("shardRegions", r, "each must be an AWS region such as eu-central-1")
		case r == s.Region:
			return invalid("shardRegions", r, "must not repeat the home region aws:region: it is always granted")
		case seen[r]:
			return invalid("shardRegions", r, "each region must be listed once")
		case partitionOf(r) != partitionOf(s.Region):
			return invalid("shardRegions", r, fmt.Sprintf("must be in the partition of aws:region %s (%s), not %s",
				s.Region, partitionOf(s.Region), partitionOf(r)))
		}
		seen[r] = true
	}
	return nil
}

// partitionOf is the AWS partition of a region that matches regionRe.
func partitionOf(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.Contains(region, "-gov-"):
		return "aws-us-gov"
	}
	return "aws"
}

// regions are the regions the stacks deploy to: the home region first,
// then the shard regions in name order (so reordering the setting changes
// no policy).
func (s *settings) regions() []string {
	return append([]string{s.Region}, sorted(s.ShardRegions)...)
}

// home is the home region alone, for the grants of what the stacks create
// only there.
func (s *settings) home() []string { return []string{s.Region} }
