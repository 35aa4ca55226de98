// Package loadbalancer provides the Alb component: the public HTTPS entry to
// the primary Prometheus, with its access-log bucket and, behind Cloudflare,
// mutual TLS that admits only Cloudflare's origin-pull certificate.
package loadbalancer

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/elb"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lb"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/promfed/promfed/internal/contract"
	"github.com/promfed/promfed/internal/tagging"
)

// The health check asks the target's readiness responder
// (contract.PortReadiness), which answers 200 only when Prometheus reports
// ready (not while it replays its WAL, nor on a TSDB failure) and needs no
// credentials, while every Prometheus endpoint keeps basic auth.
const (
	HealthyStatus = "200"
	HealthPath    = "/ready"
)

// AlbArgs configures the load balancer.
type AlbArgs struct {
	Name string // AWS name (config.AlbName)
	// TargetGroupName is the target group's name before the random suffix
	// (config.TargetGroupName; at most 24 characters).
	TargetGroupName string
	VpcID           pulumi.StringInput
	SubnetIDs       pulumi.StringArrayInput // public subnets
	SecurityGroupID pulumi.StringInput
	CertificateArn  pulumi.StringInput // validated
	TLSPolicy       string
	// Targets are the primary replicas. Stickiness keeps a client that
	// keeps cookies on one replica, so its graphs do not flicker between
	// replicas whose data differ slightly.
	Targets    []Target
	TargetPort int
	// OriginPullCA, when set, turns on mutual TLS: only clients with a
	// certificate from this CA (Cloudflare, configured with the matching
	// client certificate) get through.
	OriginPullCA          string
	AccessLogRetentionDay int
	Protect               bool
	Tags                  map[string]string
}

// Target is one instance behind the load balancer.
type Target struct {
	Name       string // the host name; names the attachment
	FormerName string // the attachment's earlier name, kept as an alias
	InstanceID pulumi.StringInput
}

// StickinessSeconds is how long the load balancer's cookie keeps a client on
// one replica: a working day of dashboards.
const StickinessSeconds = 86400

// Alb is the load balancer and its listeners.
type Alb struct {
	pulumi.ResourceState

	Arn pulumi.StringOutput
	// ArnSuffix and TargetGroupArnSuffix are the CloudWatch metric
	// dimensions of the load balancer and its target group.
	ArnSuffix            pulumi.StringOutput
	TargetGroupArnSuffix pulumi.StringOutput
	DNSName              pulumi.StringOutput
	ZoneID               pulumi.StringOutput
	LogBucket            pulumi.StringOutput
}

// NewAlb creates the load balancer.
func NewAlb(ctx *pulumi.Context, name string, args *AlbArgs, opts ...pulumi.ResourceOption) (*Alb, error) {
	if args == nil || len(args.Targets) == 0 {
		return nil, fmt.Errorf("loadbalancer %s: needs at least one target", name)
	}
	a := &Alb{}
	if err := ctx.RegisterComponentResource("promfed:loadbalancer:Alb", name, a, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(a)

	bucket, policy, err := newLogBucket(ctx, name, args, a)
	if err != nil {
		return nil, err
	}
	alb, err := lb.NewLoadBalancer(ctx, name, &lb.LoadBalancerArgs{
		Name:                     pulumi.String(args.Name),
		LoadBalancerType:         pulumi.String("application"),
		Internal:                 pulumi.Bool(false),
		Subnets:                  args.SubnetIDs,
		SecurityGroups:           pulumi.StringArray{args.SecurityGroupID},
		DropInvalidHeaderFields:  pulumi.Bool(true), // ELB.4
		DesyncMitigationMode:     pulumi.String("strictest"),
		EnableDeletionProtection: pulumi.Bool(args.Protect), // ELB.6
		IdleTimeout:              pulumi.Int(120),           // long range queries
		AccessLogs: lb.LoadBalancerAccessLogsArgs{ // ELB.5
			Bucket: bucket.Bucket, Prefix: pulumi.String("alb"), Enabled: pulumi.Bool(true),
		},
		Tags: tagging.Named(args.Tags, args.Name),
	}, parent, pulumi.DependsOn([]pulumi.Resource{policy}))
	if err != nil {
		return nil, err
	}
	// Auto-named (TargetGroupName plus a random suffix), so a replacement
	// (a new VPC, say) creates the new group, moves the listener to it and
	// only then deletes the old one: a fixed name would have to be deleted
	// first, which fails while the listener uses it (ResourceInUse).
	tg, err := lb.NewTargetGroup(ctx, args.TargetGroupName, &lb.TargetGroupArgs{
		VpcId:      args.VpcID,
		TargetType: pulumi.String("instance"),
		Protocol:   pulumi.String("HTTPS"), // TLS on the last hop too
		Port:       pulumi.Int(args.TargetPort),
		HealthCheck: lb.TargetGroupHealthCheckArgs{
			Enabled: pulumi.Bool(true), Protocol: pulumi.String("HTTP"), Path: pulumi.String(HealthPath),
			Port: pulumi.String(strconv.Itoa(contract.PortReadiness)), Matcher: pulumi.String(HealthyStatus),
			Interval: pulumi.Int(15), Timeout: pulumi.Int(5), HealthyThreshold: pulumi.Int(2), UnhealthyThreshold: pulumi.Int(3),
		},
		DeregistrationDelay: pulumi.Int(30),
		Stickiness: lb.TargetGroupStickinessArgs{
			Enabled: pulumi.Bool(true), Type: pulumi.String("lb_cookie"), CookieDuration: pulumi.Int(StickinessSeconds),
		},
		Tags: tagging.Named(args.Tags, args.TargetGroupName),
	}, parent)
	if err != nil {
		return nil, err
	}
	for _, t := range args.Targets {
		opts := []pulumi.ResourceOption{parent}
		if t.FormerName != "" {
			// Replacing an attachment of the same instance would deregister it.
			opts = append(opts, pulumi.Aliases([]pulumi.Alias{{Name: pulumi.String(name + "-" + t.FormerName)}}))
		}
		if _, err := lb.NewTargetGroupAttachment(ctx, name+"-"+t.Name, &lb.TargetGroupAttachmentArgs{
			TargetGroupArn: tg.Arn, TargetId: t.InstanceID, Port: pulumi.Int(args.TargetPort),
		}, opts...); err != nil {
			return nil, err
		}
	}

	https := &lb.ListenerArgs{
		LoadBalancerArn: alb.Arn,
		Port:            pulumi.Int(443),
		Protocol:        pulumi.String("HTTPS"),
		SslPolicy:       pulumi.String(args.TLSPolicy),
		CertificateArn:  args.CertificateArn,
		DefaultActions:  lb.ListenerDefaultActionArray{lb.ListenerDefaultActionArgs{Type: pulumi.String("forward"), TargetGroupArn: tg.Arn}},
		RoutingHttpResponseStrictTransportSecurityHeaderValue: pulumi.String("max-age=31536000; includeSubDomains"),
		RoutingHttpResponseXContentTypeOptionsHeaderValue:     pulumi.String("nosniff"),
		Tags: tagging.Named(args.Tags, name+"-https"),
	}
	if args.OriginPullCA != "" {
		store, err := newTrustStore(ctx, name, bucket, args, parent)
		if err != nil {
			return nil, err
		}
		https.MutualAuthentication = lb.ListenerMutualAuthenticationArgs{Mode: pulumi.String("verify"), TrustStoreArn: store.Arn}
	}
	if _, err := lb.NewListener(ctx, name+"-https", https, parent); err != nil {
		return nil, err
	}
	if _, err := lb.NewListener(ctx, name+"-http", &lb.ListenerArgs{
		LoadBalancerArn: alb.Arn, Port: pulumi.Int(80), Protocol: pulumi.String("HTTP"),
		DefaultActions: lb.ListenerDefaultActionArray{lb.ListenerDefaultActionArgs{
			Type: pulumi.String("redirect"),
			Redirect: lb.ListenerDefaultActionRedirectArgs{
				Protocol: pulumi.String("HTTPS"), Port: pulumi.String("443"), StatusCode: pulumi.String("HTTP_301"),
			},
		}},
		Tags: tagging.Named(args.Tags, name+"-http"),
	}, parent); err != nil {
		return nil, err
	}

	a.Arn, a.DNSName, a.ZoneID, a.LogBucket = alb.Arn, alb.DnsName, alb.ZoneId, bucket.Bucket
	a.ArnSuffix, a.TargetGroupArnSuffix = alb.ArnSuffix, tg.ArnSuffix
	return a, ctx.RegisterResourceOutputs(a, pulumi.Map{"arn": alb.Arn, "dnsName": alb.DnsName, "zoneId": alb.ZoneId, "logBucket": bucket.Bucket})
}

// newLogBucket creates the access-log bucket: owner-enforced, fully
// private, encrypted (SSE-S3: the only encryption ALB log delivery
// supports), TLS-only, expiring, writable by the regional ELB log delivery
// under the alb/ prefix only.
func newLogBucket(ctx *pulumi.Context, name string, args *AlbArgs, a *Alb) (*s3.BucketV2, *s3.BucketPolicy, error) {
	parent := pulumi.Parent(a)
	bucket, err := s3.NewBucketV2(ctx, name+"-logs", &s3.BucketV2Args{
		ForceDestroy: pulumi.Bool(!args.Protect),
		Tags:         tagging.Named(args.Tags, name+"-logs"),
	}, parent, pulumi.Protect(args.Protect))
	if err != nil {
		return nil, nil, err
	}
	if _, err := s3.NewBucketOwnershipControls(ctx, name+"-logs", &s3.BucketOwnershipControlsArgs{
		Bucket: bucket.ID(), Rule: s3.BucketOwnershipControlsRuleArgs{ObjectOwnership: pulumi.String("BucketOwnerEnforced")},
	}, parent); err != nil {
		return nil, nil, err
	}
	if _, err := s3.NewBucketPublicAccessBlock(ctx, name+"-logs", &s3.BucketPublicAccessBlockArgs{
		Bucket: bucket.ID(), BlockPublicAcls: pulumi.Bool(true), BlockPublicPolicy: pulumi.Bool(true),
		IgnorePublicAcls: pulumi.Bool(true), RestrictPublicBuckets: pulumi.Bool(true),
	}, parent); err != nil {
		return nil, nil, err
	}
	if _, err := s3.NewBucketServerSideEncryptionConfigurationV2(ctx, name+"-logs", &s3.BucketServerSideEncryptionConfigurationV2Args{
		Bucket: bucket.ID(),
		Rules: s3.BucketServerSideEncryptionConfigurationV2RuleArray{s3.BucketServerSideEncryptionConfigurationV2RuleArgs{
			ApplyServerSideEncryptionByDefault: s3.BucketServerSideEncryptionConfigurationV2RuleApplyServerSideEncryptionByDefaultArgs{SseAlgorithm: pulumi.String("AES256")},
		}},
	}, parent); err != nil {
		return nil, nil, err
	}
	if _, err := s3.NewBucketLifecycleConfigurationV2(ctx, name+"-logs", &s3.BucketLifecycleConfigurationV2Args{
		Bucket: bucket.ID(),
		Rules: s3.BucketLifecycleConfigurationV2RuleArray{s3.BucketLifecycleConfigurationV2RuleArgs{
			Id: pulumi.String("expire-access-logs"), Status: pulumi.String("Enabled"),
			Filter:     s3.BucketLifecycleConfigurationV2RuleFilterArgs{Prefix: pulumi.String("alb/")},
			Expiration: s3.BucketLifecycleConfigurationV2RuleExpirationArgs{Days: pulumi.Int(args.AccessLogRetentionDay)},
		}},
	}, parent); err != nil {
		return nil, nil, err
	}
	elbAccount, err := elb.GetServiceAccount(ctx, &elb.GetServiceAccountArgs{}, pulumi.Parent(a))
	if err != nil {
		return nil, nil, err
	}
	caller, err := aws.GetCallerIdentity(ctx, &aws.GetCallerIdentityArgs{}, pulumi.Parent(a))
	if err != nil {
		return nil, nil, err
	}
	doc := bucket.Arn.ApplyT(func(arn string) (string, error) {
		return LogBucketPolicy(arn, elbAccount.Arn, caller.AccountId)
	}).(pulumi.StringOutput)
	policy, err := s3.NewBucketPolicy(ctx, name+"-logs", &s3.BucketPolicyArgs{Bucket: bucket.ID(), Policy: doc}, parent)
	return bucket, policy, err
}

// LogBucketPolicy allows ELB log delivery (the regional ELB account, and
// the log-delivery service principal that newer regions use) to write under
// alb/AWSLogs/<account>/, and denies every request without TLS.
func LogBucketPolicy(bucketArn, elbAccountArn, accountID string) (string, error) {
	logs := fmt.Sprintf("%s/alb/AWSLogs/%s/*", bucketArn, accountID)
	b, err := json.Marshal(map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{
			map[string]any{"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
				"Resource": []string{bucketArn, bucketArn + "/*"}, "Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}}},
			map[string]any{"Sid": "ElbAccountLogDelivery", "Effect": "Allow", "Principal": map[string]any{"AWS": elbAccountArn},
				"Action": "s3:PutObject", "Resource": logs},
			map[string]any{"Sid": "ElbServiceLogDelivery", "Effect": "Allow", "Principal": map[string]any{"Service": "logdelivery.elasticloadbalancing.amazonaws.com"},
				"Action": "s3:PutObject", "Resource": logs},
		},
	})
	return string(b), err
}

func newTrustStore(ctx *pulumi.Context, name string, bucket *s3.BucketV2, args *AlbArgs, parent pulumi.ResourceOption) (*lb.TrustStore, error) {
	obj, err := s3.NewBucketObjectv2(ctx, name+"-origin-pull-ca", &s3.BucketObjectv2Args{
		Bucket: bucket.ID(), Key: pulumi.String("truststore/origin-pull-ca.pem"),
		Content: pulumi.String(args.OriginPullCA), ContentType: pulumi.String("application/x-pem-file"),
		Tags: tagging.Named(args.Tags, name+"-origin-pull-ca"),
	}, parent)
	if err != nil {
		return nil, err
	}
	return lb.NewTrustStore(ctx, name+"-origin-pull", &lb.TrustStoreArgs{
		CaCertificatesBundleS3Bucket: bucket.Bucket,
		CaCertificatesBundleS3Key:    obj.Key,
		Tags:                         tagging.Named(args.Tags, name+"-origin-pull"),
	}, parent)
}
