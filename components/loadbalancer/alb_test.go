package loadbalancer

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/promfed/promfed/internal/testmocks"
)

func run(t *testing.T, originCA string, protect bool) *testmocks.Mocks {
	t.Helper()
	m, err := testmocks.Run("promfed", "dev", nil, nil, func(ctx *pulumi.Context) error {
		_, err := NewAlb(ctx, "edge", &AlbArgs{
			Name: "promfed-dev", TargetGroupName: "promfed-dev-tg", VpcID: pulumi.String("vpc-1"),
			SubnetIDs: pulumi.StringArray{pulumi.String("subnet-a"), pulumi.String("subnet-b")}, SecurityGroupID: pulumi.String("sg-alb"),
			CertificateArn: pulumi.String("arn:aws:acm:eu-west-1:123456789012:certificate/x"), TLSPolicy: "ELBSecurityPolicy-TLS13-1-2-2021-06",
			Targets:    []Target{{Name: "primary-a", FormerName: "primary", InstanceID: pulumi.String("i-a")}, {Name: "primary-b", InstanceID: pulumi.String("i-b")}},
			TargetPort: 9090, OriginPullCA: originCA,
			AccessLogRetentionDay: 30, Protect: protect, Tags: map[string]string{"promfed:stack": "dev"},
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestListenersAndTarget(t *testing.T) {
	m := run(t, "", false)
	alb := m.Named(t, "aws:lb/loadBalancer:LoadBalancer", "edge")
	if alb.Get("dropInvalidHeaderFields") != true || alb.Str("desyncMitigationMode") != "strictest" || alb.Get("enableDeletionProtection") != false || alb.Get("internal") != false {
		t.Errorf("load balancer %v", alb.Inputs)
	}
	https := m.Named(t, "aws:lb/listener:Listener", "edge-https")
	if https.Get("port") != float64(443) || https.Str("sslPolicy") != "ELBSecurityPolicy-TLS13-1-2-2021-06" || !strings.HasPrefix(https.Str("routingHttpResponseStrictTransportSecurityHeaderValue"), "max-age=") {
		t.Errorf("https listener %v", https.Inputs)
	}
	if https.Get("mutualAuthentication") != nil || len(m.OfType("aws:lb/trustStore:TrustStore")) != 0 {
		t.Error("mutual TLS without an origin-pull CA")
	}
	http := m.Named(t, "aws:lb/listener:Listener", "edge-http")
	actions := http.Get("defaultActions").([]any)
	if len(actions) != 1 || actions[0].(map[string]any)["type"] != "redirect" || actions[0].(map[string]any)["redirect"].(map[string]any)["statusCode"] != "HTTP_301" {
		t.Errorf("http listener %v", actions)
	}
	// Both replicas are targets; the first keeps its attachment from the
	// days of one primary (a replaced attachment would deregister it).
	if len(m.OfType("aws:lb/targetGroupAttachment:TargetGroupAttachment")) != 2 {
		t.Errorf("targets %v", m.OfType("aws:lb/targetGroupAttachment:TargetGroupAttachment"))
	}
	a, b := m.Named(t, "aws:lb/targetGroupAttachment:TargetGroupAttachment", "edge-primary-a"), m.Named(t, "aws:lb/targetGroupAttachment:TargetGroupAttachment", "edge-primary-b")
	if a.Str("targetId") != "i-a" || b.Str("targetId") != "i-b" || a.Get("port") != float64(9090) || b.Get("port") != float64(9090) {
		t.Errorf("targets %v %v", a.Inputs, b.Inputs)
	}
	if !slices.Contains(a.Aliases, "edge-primary") || len(b.Aliases) != 0 {
		t.Errorf("aliases: primary-a %v, primary-b %v", a.Aliases, b.Aliases)
	}
	// Auto-named from promfed-dev-tg and replaced create-first, so the
	// listener can move to the new group before the old one goes.
	tg := m.Named(t, "aws:lb/targetGroup:TargetGroup", "promfed-dev-tg")
	if tg.DeleteBeforeReplace || tg.Get("name") != nil || tg.Get("healthCheck").(map[string]any)["matcher"] != HealthyStatus {
		t.Errorf("target group %v dbr=%v", tg.Inputs, tg.DeleteBeforeReplace)
	}
	// One client stays on one replica: no flicker between their data.
	if st := tg.Get("stickiness").(map[string]any); st["enabled"] != true || st["type"] != "lb_cookie" || st["cookieDuration"] != float64(StickinessSeconds) {
		t.Errorf("stickiness %v", st)
	}
}

func TestLogBucket(t *testing.T) {
	m := run(t, "", false)
	b := m.Named(t, "aws:s3/bucketV2:BucketV2", "edge-logs")
	if b.Get("forceDestroy") != true || b.Protect {
		t.Errorf("dev log bucket forceDestroy=%v protect=%v", b.Get("forceDestroy"), b.Protect)
	}
	sse := m.Named(t, "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2", "edge-logs").Get("rules").([]any)[0].(map[string]any)
	if sse["applyServerSideEncryptionByDefault"].(map[string]any)["sseAlgorithm"] != "AES256" {
		t.Errorf("encryption %v", sse)
	}
	if own := m.Named(t, "aws:s3/bucketOwnershipControls:BucketOwnershipControls", "edge-logs").Get("rule").(map[string]any); own["objectOwnership"] != "BucketOwnerEnforced" {
		t.Errorf("ownership %v", own)
	}
	exp := m.Named(t, "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2", "edge-logs").Get("rules").([]any)[0].(map[string]any)
	if exp["expiration"].(map[string]any)["days"] != float64(30) || exp["status"] != "Enabled" {
		t.Errorf("lifecycle %v", exp)
	}
	var policy struct {
		Statement []struct {
			Sid, Effect string
			Resource    any
			Condition   map[string]map[string]string
		}
	}
	if err := json.Unmarshal([]byte(m.Named(t, "aws:s3/bucketPolicy:BucketPolicy", "edge-logs").Str("policy")), &policy); err != nil {
		t.Fatal(err)
	}
	if len(policy.Statement) != 3 || policy.Statement[0].Effect != "Deny" || policy.Statement[0].Condition["Bool"]["aws:SecureTransport"] != "false" {
		t.Errorf("policy %+v", policy)
	}
	for _, s := range policy.Statement[1:] {
		if s.Effect != "Allow" || s.Resource != "arn:aws:mock:eu-west-1:123456789012:bucketv2/edge-logs/alb/AWSLogs/123456789012/*" {
			t.Errorf("log delivery statement %+v", s)
		}
	}
	prod := run(t, "", true)
	if b := prod.Named(t, "aws:s3/bucketV2:BucketV2", "edge-logs"); b.Get("forceDestroy") != false || !b.Protect {
		t.Error("prod log bucket can be destroyed with its logs")
	}
	if prod.Named(t, "aws:lb/loadBalancer:LoadBalancer", "edge").Get("enableDeletionProtection") != true {
		t.Error("prod ALB lacks deletion protection")
	}
}

func TestMutualTLSWithOriginPullCA(t *testing.T) {
	m := run(t, "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n", false)
	mtls := m.Named(t, "aws:lb/listener:Listener", "edge-https").Get("mutualAuthentication").(map[string]any)
	if mtls["mode"] != "verify" || mtls["trustStoreArn"] != "arn:aws:mock:eu-west-1:123456789012:truststore/edge-origin-pull" {
		t.Errorf("mutual TLS %v", mtls)
	}
	obj := m.Named(t, "aws:s3/bucketObjectv2:BucketObjectv2", "edge-origin-pull-ca")
	if !strings.Contains(obj.Str("content"), "BEGIN CERTIFICATE") || obj.Str("key") != "truststore/origin-pull-ca.pem" {
		t.Errorf("trust store bundle %v", obj.Inputs)
	}
}
