package main

import (
	"encoding/json"
	"errors"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

const (
	testAccount = "123456789012"
	testRegion  = "eu-west-1"
	testRepo    = "acme/promfed"
	testBucket  = "acme-promfed-state"
)

type recorded struct {
	Type, Name string
	Inputs     resource.PropertyMap
	Protect    bool
}

// mocks answers resource registrations with plausible ARNs and records them.
type mocks struct {
	mu        sync.Mutex
	resources []recorded
}

func (m *mocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	out := args.Inputs.Copy()
	str := func(k string) string {
		if v, ok := args.Inputs[resource.PropertyKey(k)]; ok && v.IsString() {
			return v.StringValue()
		}
		return ""
	}
	id := args.Name + "-id"
	switch args.TypeToken {
	case "aws:s3/bucketV2:BucketV2":
		id = str("bucket")
		out["arn"] = resource.NewStringProperty("arn:aws:s3:::" + id)
	case "aws:kms/key:Key":
		id = "0000-key"
		out["keyId"] = resource.NewStringProperty(id)
		out["arn"] = resource.NewStringProperty("arn:aws:kms:" + testRegion + ":" + testAccount + ":key/" + id)
	case "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
		out["arn"] = resource.NewStringProperty("arn:aws:iam::" + testAccount + ":oidc-provider/token.actions.githubusercontent.com")
	case "aws:iam/role:Role":
		id = str("name")
		out["arn"] = resource.NewStringProperty("arn:aws:iam::" + testAccount + ":role/" + id)
	case "aws:iam/policy:Policy":
		out["arn"] = resource.NewStringProperty("arn:aws:iam::" + testAccount + ":policy/" + str("name"))
	}
	protect := args.RegisterRPC != nil && args.RegisterRPC.GetProtect()
	m.mu.Lock()
	m.resources = append(m.resources, recorded{args.TypeToken, args.Name, args.Inputs, protect})
	m.mu.Unlock()
	return id, out, nil
}

func (m *mocks) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	if args.Token == "aws:index/getCallerIdentity:getCallerIdentity" {
		return resource.NewPropertyMapFromMap(map[string]any{
			"accountId": testAccount,
			"arn":       "arn:aws:sts::" + testAccount + ":assumed-role/admin/me",
			"userId":    "AROAEXAMPLE:me",
			"id":        testAccount,
		}), nil
	}
	return nil, errors.New("unexpected call " + args.Token)
}

func (m *mocks) byType(token string) []recorded {
	var out []recorded
	for _, r := range m.resources {
		if r.Type == token {
			out = append(out, r)
		}
	}
	return out
}

func (m *mocks) one(t *testing.T, token string) recorded {
	t.Helper()
	rs := m.byType(token)
	if len(rs) != 1 {
		t.Fatalf("want exactly one %s, got %d", token, len(rs))
	}
	return rs[0]
}

func baseConfig() map[string]string {
	return map[string]string{
		"aws:region":                    testRegion,
		"promfed-bootstrap:githubRepo":  testRepo,
		"promfed-bootstrap:stateBucket": testBucket,
	}
}

func run(t *testing.T, cfg map[string]string) (*mocks, error) {
	t.Helper()
	m := &mocks{}
	err := pulumi.RunErr(program, pulumi.WithMocks(projectName, "test", m), func(ri *pulumi.RunInfo) {
		ri.Config = cfg
	})
	return m, err
}

func mustRun(t *testing.T) *mocks {
	t.Helper()
	m, err := run(t, baseConfig())
	if err != nil {
		t.Fatalf("program failed: %v", err)
	}
	return m
}

// mapAt walks nested objects and arrays ("rules", 0, "filter" ...).
func at(t *testing.T, v resource.PropertyValue, path ...any) resource.PropertyValue {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			if !v.IsObject() {
				t.Fatalf("path %v: %q on non-object %v", path, k, v)
			}
			v = v.ObjectValue()[resource.PropertyKey(k)]
		case int:
			if !v.IsArray() || len(v.ArrayValue()) <= k {
				t.Fatalf("path %v: index %d on %v", path, k, v)
			}
			v = v.ArrayValue()[k]
		}
	}
	return v
}

func obj(r recorded) resource.PropertyValue { return resource.NewObjectProperty(r.Inputs) }

func parsePolicy(t *testing.T, v resource.PropertyValue) policyDocument {
	t.Helper()
	if !v.IsString() {
		t.Fatalf("policy is not a string: %v", v)
	}
	var p policyDocument
	if err := json.Unmarshal([]byte(v.StringValue()), &p); err != nil {
		t.Fatalf("policy is not JSON: %v\n%s", err, v.StringValue())
	}
	if p.Version != "2012-10-17" || len(p.Statement) == 0 {
		t.Fatalf("policy has version %q and %d statements", p.Version, len(p.Statement))
	}
	return p
}

func TestStateBucket(t *testing.T) {
	m := mustRun(t)
	bucket := m.one(t, "aws:s3/bucketV2:BucketV2")
	if got := at(t, obj(bucket), "bucket").StringValue(); got != testBucket {
		t.Errorf("bucket name = %q, want %q", got, testBucket)
	}
	if !bucket.Protect {
		t.Error("state bucket is not protected")
	}

	ver := m.one(t, "aws:s3/bucketVersioningV2:BucketVersioningV2")
	if got := at(t, obj(ver), "versioningConfiguration", "status").StringValue(); got != "Enabled" {
		t.Errorf("versioning status = %q, want Enabled", got)
	}
	if got := at(t, obj(ver), "bucket").StringValue(); got != testBucket {
		t.Errorf("versioning applies to %q, want %q", got, testBucket)
	}

	pab := m.one(t, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
	for _, k := range []string{"blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"} {
		if v := at(t, obj(pab), k); !v.IsBool() || !v.BoolValue() {
			t.Errorf("public access block %s = %v, want true", k, v)
		}
	}

	own := m.one(t, "aws:s3/bucketOwnershipControls:BucketOwnershipControls")
	if got := at(t, obj(own), "rule", "objectOwnership").StringValue(); got != "BucketOwnerEnforced" {
		t.Errorf("object ownership = %q, want BucketOwnerEnforced", got)
	}

	sse := m.one(t, "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2")
	rule := at(t, obj(sse), "rules", 0)
	if got := at(t, rule, "applyServerSideEncryptionByDefault", "sseAlgorithm").StringValue(); got != "aws:kms" {
		t.Errorf("sse algorithm = %q, want aws:kms", got)
	}
	wantKey := "arn:aws:kms:" + testRegion + ":" + testAccount + ":key/0000-key"
	if got := at(t, rule, "applyServerSideEncryptionByDefault", "kmsMasterKeyId").StringValue(); got != wantKey {
		t.Errorf("sse key = %q, want %q", got, wantKey)
	}
	if v := at(t, rule, "bucketKeyEnabled"); !v.IsBool() || !v.BoolValue() {
		t.Errorf("bucketKeyEnabled = %v, want true", v)
	}

	lc := m.one(t, "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2")
	lrule := at(t, obj(lc), "rules", 0)
	if got := at(t, lrule, "status").StringValue(); got != "Enabled" {
		t.Errorf("lifecycle status = %q", got)
	}
	if got := at(t, lrule, "noncurrentVersionExpiration", "noncurrentDays").NumberValue(); got != 90 {
		t.Errorf("noncurrentDays = %v, want 90", got)
	}
}

func TestBucketPolicyDeniesInsecureTransport(t *testing.T) {
	m := mustRun(t)
	p := parsePolicy(t, at(t, obj(m.one(t, "aws:s3/bucketPolicy:BucketPolicy")), "policy"))
	arn := "arn:aws:s3:::" + testBucket
	found := false
	for _, st := range p.Statement {
		if st.Effect != "Deny" {
			t.Errorf("bucket policy has a non-Deny statement %+v", st)
			continue
		}
		if st.Condition["Bool"]["aws:SecureTransport"] != "false" {
			continue
		}
		found = true
		if !slices.Equal(st.Resource, []string{arn, arn + "/*"}) {
			t.Errorf("TLS deny resources = %v, want bucket and its objects", st.Resource)
		}
		if st.Principal["AWS"] != "*" {
			t.Errorf("TLS deny principal = %v, want everyone", st.Principal)
		}
		if !slices.Equal(st.Action, []string{"s3:*"}) {
			t.Errorf("TLS deny actions = %v, want all of s3", st.Action)
		}
	}
	if !found {
		t.Fatalf("no statement denies aws:SecureTransport=false: %+v", p)
	}
}

func TestKMSKeyRotationAndAlias(t *testing.T) {
	m := mustRun(t)
	key := m.one(t, "aws:kms/key:Key")
	if v := at(t, obj(key), "enableKeyRotation"); !v.IsBool() || !v.BoolValue() {
		t.Errorf("enableKeyRotation = %v, want true", v)
	}
	if !key.Protect {
		t.Error("KMS key is not protected")
	}
	alias := m.one(t, "aws:kms/alias:Alias")
	if got := at(t, obj(alias), "name").StringValue(); got != "alias/promfed-state" {
		t.Errorf("alias = %q, want alias/promfed-state", got)
	}
	if got := at(t, obj(alias), "targetKeyId").StringValue(); got != "0000-key" {
		t.Errorf("alias target = %q, want the key id", got)
	}
}

// roleTrust returns the trust policy of the role named <prefix>-<kind>.
func roleTrust(t *testing.T, m *mocks, name string) policyDocument {
	t.Helper()
	for _, r := range m.byType("aws:iam/role:Role") {
		if at(t, obj(r), "name").StringValue() == name {
			return parsePolicy(t, at(t, obj(r), "assumeRolePolicy"))
		}
	}
	t.Fatalf("no role %s", name)
	return policyDocument{}
}

func TestOIDCTrustIsRestrictedToTheRepository(t *testing.T) {
	m := mustRun(t)
	prov := m.one(t, "aws:iam/openIdConnectProvider:OpenIdConnectProvider")
	if got := at(t, obj(prov), "url").StringValue(); got != "https://token.actions.githubusercontent.com" {
		t.Errorf("OIDC url = %q", got)
	}
	if got := at(t, obj(prov), "clientIdLists", 0).StringValue(); got != "sts.amazonaws.com" {
		t.Errorf("OIDC client id = %q", got)
	}
	oidc := "arn:aws:iam::" + testAccount + ":oidc-provider/token.actions.githubusercontent.com"
	cases := map[string][]string{
		"promfed-ci-preview": {"repo:acme/promfed:pull_request"},
		"promfed-ci-deploy":  {"repo:acme/promfed:environment:prod", "repo:acme/promfed:ref:refs/heads/main"},
	}
	for role, wantSubs := range cases {
		p := roleTrust(t, m, role)
		if len(p.Statement) != 1 {
			t.Fatalf("%s: %d trust statements, want 1", role, len(p.Statement))
		}
		st := p.Statement[0]
		if st.Effect != "Allow" || !slices.Equal(st.Action, []string{"sts:AssumeRoleWithWebIdentity"}) {
			t.Errorf("%s: trust statement %+v", role, st)
		}
		if st.Principal["Federated"] != oidc {
			t.Errorf("%s: federated principal = %v, want %s", role, st.Principal["Federated"], oidc)
		}
		if len(st.Condition) != 1 || st.Condition["StringEquals"] == nil {
			t.Fatalf("%s: conditions %v: want only StringEquals (no wildcard matching)", role, st.Condition)
		}
		eq := st.Condition["StringEquals"]
		if eq["token.actions.githubusercontent.com:aud"] != "sts.amazonaws.com" {
			t.Errorf("%s: aud = %v", role, eq["token.actions.githubusercontent.com:aud"])
		}
		var subs []string
		raw, _ := eq["token.actions.githubusercontent.com:sub"].([]any)
		for _, s := range raw {
			subs = append(subs, s.(string))
		}
		if !slices.Equal(subs, wantSubs) {
			t.Errorf("%s: sub = %v, want %v", role, subs, wantSubs)
		}
	}
}

func TestExistingOIDCProviderIsReused(t *testing.T) {
	cfg := baseConfig()
	existing := "arn:aws:iam::210987654321:oidc-provider/token.actions.githubusercontent.com"
	cfg["promfed-bootstrap:githubOidcProviderArn"] = existing
	m, err := run(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(m.byType("aws:iam/openIdConnectProvider:OpenIdConnectProvider")); n != 0 {
		t.Errorf("created %d OIDC providers, want 0 when one is configured", n)
	}
	if got := roleTrust(t, m, "promfed-ci-deploy").Statement[0].Principal["Federated"]; got != existing {
		t.Errorf("deploy trusts %v, want %s", got, existing)
	}
}

// managedPolicies returns the documents of every iam.Policy, by name.
func managedPolicies(t *testing.T, m *mocks) map[string]policyDocument {
	t.Helper()
	out := map[string]policyDocument{}
	for _, r := range m.byType("aws:iam/policy:Policy") {
		out[at(t, obj(r), "name").StringValue()] = parsePolicy(t, at(t, obj(r), "policy"))
	}
	return out
}

func TestNoWildcardActionInIAMPolicies(t *testing.T) {
	m := mustRun(t)
	docs := managedPolicies(t, m)
	want := []string{"promfed-ci-deploy-alerts", "promfed-ci-deploy-edge", "promfed-ci-deploy-iam-s3", "promfed-ci-deploy-network",
		"promfed-ci-deploy-state", "promfed-ci-preview-preview"}
	var names []string
	for n := range docs {
		names = append(names, n)
	}
	slices.Sort(names)
	if !slices.Equal(names, want) {
		t.Fatalf("managed policies = %v, want %v", names, want)
	}
	docs["trust-preview"] = roleTrust(t, m, "promfed-ci-preview")
	docs["trust-deploy"] = roleTrust(t, m, "promfed-ci-deploy")
	actionRe := regexp.MustCompile(`^[a-z0-9-]+:[A-Za-z0-9]+$`)
	count := 0
	for name, p := range docs {
		for _, st := range p.Statement {
			for _, a := range st.Action {
				count++
				if strings.Contains(a, "*") || !actionRe.MatchString(a) {
					t.Errorf("%s/%s: action %q is not one explicit action", name, st.Sid, a)
				}
			}
		}
	}
	if count < 200 {
		t.Errorf("only %d actions seen; the deploy grant looks incomplete", count)
	}
	// The attachments tie each policy to its role.
	att := m.byType("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
	if len(att) != len(want) {
		t.Errorf("%d policy attachments, want %d", len(att), len(want))
	}
}

func TestManagedPoliciesFitTheSizeLimit(t *testing.T) {
	m := mustRun(t)
	for _, r := range m.byType("aws:iam/policy:Policy") {
		doc := at(t, obj(r), "policy").StringValue()
		if n := len(doc); n > 6144 {
			t.Errorf("%s is %d characters, over the 6,144 managed policy limit",
				at(t, obj(r), "name").StringValue(), n)
		}
	}
}

func statementsWith(p policyDocument, action string) []statement {
	var out []statement
	for _, st := range p.Statement {
		if slices.Contains(st.Action, action) {
			out = append(out, st)
		}
	}
	return out
}

func TestPreviewRoleIsReadOnlyExceptLocks(t *testing.T) {
	p := managedPolicies(t, mustRun(t))["promfed-ci-preview-preview"]
	arn := "arn:aws:s3:::" + testBucket
	for _, a := range []string{"s3:PutObject", "s3:DeleteObject"} {
		sts := statementsWith(p, a)
		if len(sts) != 1 || !slices.Equal(sts[0].Resource, []string{arn + "/.pulumi/locks/*"}) {
			t.Errorf("%s granted as %+v, want only on %s/.pulumi/locks/*", a, sts, arn)
		}
	}
	if sts := statementsWith(p, "s3:GetObject"); len(sts) != 1 || !slices.Contains(sts[0].Resource, arn+"/*") {
		t.Errorf("s3:GetObject = %+v, want the state objects", sts)
	}
	if sts := statementsWith(p, "kms:Decrypt"); len(sts) != 1 ||
		!slices.Equal(sts[0].Resource, []string{"arn:aws:kms:" + testRegion + ":" + testAccount + ":key/0000-key"}) {
		t.Errorf("kms:Decrypt = %+v, want the state key only", sts)
	}
	mutating := regexp.MustCompile(`:(Create|Delete|Put|Update|Modify|Attach|Detach|Run|Terminate|Encrypt|Pass|Tag|Untag|Authorize|Revoke|Change)`)
	for _, st := range p.Statement {
		for _, a := range st.Action {
			if mutating.MatchString(a) && a != "s3:PutObject" && a != "s3:DeleteObject" {
				t.Errorf("preview role may %s (%s)", a, st.Sid)
			}
		}
	}
}

func TestDeployRoleGuardsAndConditions(t *testing.T) {
	docs := managedPolicies(t, mustRun(t))
	iamDoc := docs["promfed-ci-deploy-iam-s3"]
	pass := statementsWith(iamDoc, "iam:PassRole")
	if len(pass) != 1 {
		t.Fatalf("iam:PassRole in %d statements, want 1", len(pass))
	}
	raw, _ := pass[0].Condition["StringEquals"]["iam:PassedToService"].([]any)
	var svcs []string
	for _, s := range raw {
		svcs = append(svcs, s.(string))
	}
	if !slices.Equal(svcs, []string{"dlm.amazonaws.com", "ec2.amazonaws.com", "vpc-flow-logs.amazonaws.com"}) {
		t.Errorf("PassRole limited to %v", svcs)
	}
	var guard *statement
	for i, st := range iamDoc.Statement {
		if st.Sid == "ProtectCiRoles" {
			guard = &iamDoc.Statement[i]
		}
	}
	if guard == nil || guard.Effect != "Deny" ||
		!slices.Contains(guard.Resource, "arn:aws:iam::"+testAccount+":role/promfed-ci-deploy") ||
		!slices.Contains(guard.Action, "iam:UpdateAssumeRolePolicy") {
		t.Errorf("deploy role can rewrite its own trust: %+v", guard)
	}
	state := docs["promfed-ci-deploy-state"]
	for _, a := range []string{"s3:PutBucketPolicy", "s3:DeleteObjectVersion", "s3:PutBucketVersioning", "s3:DeleteBucket"} {
		sts := statementsWith(state, a)
		if len(sts) != 1 || sts[0].Effect != "Deny" {
			t.Errorf("%s on the state bucket is not denied: %+v", a, sts)
		}
	}
	for _, st := range docs["promfed-ci-deploy-network"].Statement {
		if st.Condition["StringEquals"]["aws:RequestedRegion"] != testRegion {
			t.Errorf("EC2 statement %s not pinned to %s: %v", st.Sid, testRegion, st.Condition)
		}
	}
	if sts := statementsWith(state, "kms:Encrypt"); len(sts) != 1 || sts[0].Effect != "Allow" {
		t.Errorf("deploy cannot encrypt new secrets: %+v", sts)
	}
}

func TestConfigValidation(t *testing.T) {
	cases := []struct {
		key, value, rule string
	}{
		{"promfed-bootstrap:githubRepo", "", "is required"},
		{"promfed-bootstrap:githubRepo", "acme", "must be owner/repo"},
		{"promfed-bootstrap:githubRepo", "acme/promfed/extra", "must be owner/repo"},
		{"promfed-bootstrap:stateBucket", "Promfed_State", "3-63 characters"},
		{"promfed-bootstrap:stateBucket", "xn--promfed", "reserved prefix"},
		{"promfed-bootstrap:kmsAlias", "alias/promfed", "without 'alias/'"},
		{"promfed-bootstrap:kmsAlias", "aws/ebs", "reserved aws/"},
		{"promfed-bootstrap:githubOidcProviderArn", "arn:aws:iam::1234:oidc-provider/example.com", "oidc-provider/token.actions"},
		{"promfed-bootstrap:noncurrentVersionDays", "0", "from 1 to 3650"},
		{"promfed-bootstrap:noncurrentVersionDays", "ninety", "from 1 to 3650"},
		{"promfed-bootstrap:rolePrefix", "has space", "letters, digits"},
		{"promfed-bootstrap:deployEnvironment", "prod env", "GitHub environment"},
		{"promfed-bootstrap:stackBucketPrefix", "UPPER", "lowercase"},
		{"aws:region", "mars-1", "AWS region"},
	}
	for _, c := range cases {
		t.Run(c.key+"="+c.value, func(t *testing.T) {
			cfg := baseConfig()
			cfg[c.key] = c.value
			if c.value == "" {
				delete(cfg, c.key)
			}
			m, err := run(t, cfg)
			if err == nil {
				t.Fatal("program accepted invalid config")
			}
			short := c.key[strings.Index(c.key, ":")+1:]
			for _, want := range []string{short, `"` + c.value + `"`, c.rule} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
			if len(m.resources) != 0 {
				t.Errorf("created %d resources despite invalid config", len(m.resources))
			}
		})
	}
}

func TestTeamDocListsEveryAction(t *testing.T) {
	doc, err := os.ReadFile("../docs/team.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile("`([a-z0-9-]+:[A-Za-z0-9]+)`").FindAllStringSubmatch(string(doc), -1) {
		documented[m[1]] = true
	}
	total := 0
	for list, actions := range allActionLists() {
		for _, a := range actions {
			total++
			if !documented[a] {
				t.Errorf("docs/team.md does not list %s (from %s)", a, list)
			}
		}
	}
	if total < 200 {
		t.Errorf("only %d actions in the lists", total)
	}
}
