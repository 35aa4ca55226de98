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
		id = args.Name + "-key"
		out["keyId"] = resource.NewStringProperty(id)
		out["arn"] = resource.NewStringProperty("arn:aws:kms:" + testRegion + ":" + testAccount + ":key/" + id)
	case "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
		out["arn"] = resource.NewStringProperty("arn:aws:iam::" + testAccount + ":oidc-provider/token.actions.githubusercontent.com")
	case "aws:iam/role:Role":
		id = str("name")
		out["arn"] = resource.NewStringProperty("arn:aws:iam::" + testAccount + ":role/" + id)
	case "aws:iam/policy:Policy":
		path := str("path")
		if path == "" {
			path = "/"
		}
		out["arn"] = resource.NewStringProperty("arn:aws:iam::" + testAccount + ":policy" + path + str("name"))
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
	if args.Token == "aws:index/getPartition:getPartition" {
		return resource.NewPropertyMapFromMap(map[string]any{"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}), nil
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

// byInput returns the resources of token whose input key equals value.
func (m *mocks) byInput(t *testing.T, token, key, value string) recorded {
	t.Helper()
	for _, r := range m.byType(token) {
		if v, ok := r.Inputs[resource.PropertyKey(key)]; ok && v.IsString() && v.StringValue() == value {
			return r
		}
	}
	t.Fatalf("no %s with %s = %q", token, key, value)
	return recorded{}
}

const stateKeyARN = "arn:aws:kms:" + testRegion + ":" + testAccount + ":key/state-key"

func secretsKeyARN(stack string) string {
	return "arn:aws:kms:" + testRegion + ":" + testAccount + ":key/secrets-" + stack + "-key"
}

func TestStateBucket(t *testing.T) {
	m := mustRun(t)
	bucket := m.byInput(t, "aws:s3/bucketV2:BucketV2", "bucket", testBucket)
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

	for _, b := range []string{testBucket, testBucket + "-access-logs"} {
		pab := m.byInput(t, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "bucket", b)
		for _, k := range []string{"blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"} {
			if v := at(t, obj(pab), k); !v.IsBool() || !v.BoolValue() {
				t.Errorf("%s public access block %s = %v, want true", b, k, v)
			}
		}
		own := m.byInput(t, "aws:s3/bucketOwnershipControls:BucketOwnershipControls", "bucket", b)
		if got := at(t, obj(own), "rule", "objectOwnership").StringValue(); got != "BucketOwnerEnforced" {
			t.Errorf("%s object ownership = %q, want BucketOwnerEnforced", b, got)
		}
	}

	sse := m.byInput(t, "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2", "bucket", testBucket)
	rule := at(t, obj(sse), "rules", 0)
	if got := at(t, rule, "applyServerSideEncryptionByDefault", "sseAlgorithm").StringValue(); got != "aws:kms" {
		t.Errorf("sse algorithm = %q, want aws:kms", got)
	}
	if got := at(t, rule, "applyServerSideEncryptionByDefault", "kmsMasterKeyId").StringValue(); got != stateKeyARN {
		t.Errorf("sse key = %q, want %q", got, stateKeyARN)
	}
	// The key policy tells stacks apart by object ARN, which S3 passes as
	// the encryption context only without a bucket key.
	if v := at(t, rule, "bucketKeyEnabled"); !v.IsBool() || v.BoolValue() {
		t.Errorf("bucketKeyEnabled = %v, want false", v)
	}

	lc := m.byInput(t, "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2", "bucket", testBucket)
	lrule := at(t, obj(lc), "rules", 0)
	if got := at(t, lrule, "status").StringValue(); got != "Enabled" {
		t.Errorf("lifecycle status = %q", got)
	}
	if got := at(t, lrule, "noncurrentVersionExpiration", "noncurrentDays").NumberValue(); got != 90 {
		t.Errorf("noncurrentDays = %v, want 90", got)
	}
}

func TestStateAccessIsLogged(t *testing.T) {
	m := mustRun(t)
	logs := m.byInput(t, "aws:s3/bucketV2:BucketV2", "bucket", testBucket+"-access-logs")
	if !logs.Protect {
		t.Error("access-log bucket is not protected")
	}
	logging := m.one(t, "aws:s3/bucketLoggingV2:BucketLoggingV2")
	if got := at(t, obj(logging), "bucket").StringValue(); got != testBucket {
		t.Errorf("logging configured on %q, want the state bucket", got)
	}
	if got := at(t, obj(logging), "targetBucket").StringValue(); got != testBucket+"-access-logs" {
		t.Errorf("logs go to %q, want %s-access-logs", got, testBucket)
	}
	sse := m.byInput(t, "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2", "bucket", testBucket+"-access-logs")
	if got := at(t, obj(sse), "rules", 0, "applyServerSideEncryptionByDefault", "sseAlgorithm").StringValue(); got != "AES256" {
		t.Errorf("access-log encryption = %q, want AES256 (the only one log delivery supports)", got)
	}
	p := parsePolicy(t, at(t, obj(m.byInput(t, "aws:s3/bucketPolicy:BucketPolicy", "bucket", testBucket+"-access-logs")), "policy"))
	var allow []statement
	for _, st := range p.Statement {
		if st.Effect == "Allow" {
			allow = append(allow, st)
		}
	}
	if len(allow) != 1 || allow[0].Principal["Service"] != "logging.s3.amazonaws.com" ||
		!slices.Equal(allow[0].Action, []string{"s3:PutObject"}) ||
		allow[0].Condition["ArnLike"]["aws:SourceArn"] != "arn:aws:s3:::"+testBucket ||
		allow[0].Condition["StringEquals"]["aws:SourceAccount"] != testAccount {
		t.Errorf("access-log bucket allows %+v, want only S3 log delivery from the state bucket of this account", allow)
	}
	lc := m.byInput(t, "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2", "bucket", testBucket+"-access-logs")
	if got := at(t, obj(lc), "rules", 0, "expiration", "days").NumberValue(); got != 365 {
		t.Errorf("access logs kept %v days, want 365", got)
	}
}

func TestBucketPoliciesDenyInsecureTransport(t *testing.T) {
	m := mustRun(t)
	for _, b := range []string{testBucket, testBucket + "-access-logs"} {
		p := parsePolicy(t, at(t, obj(m.byInput(t, "aws:s3/bucketPolicy:BucketPolicy", "bucket", b)), "policy"))
		arn := "arn:aws:s3:::" + b
		found := false
		for _, st := range p.Statement {
			if st.Effect != "Deny" || st.Condition["Bool"]["aws:SecureTransport"] != "false" {
				continue
			}
			found = true
			if !slices.Equal(st.Resource, []string{arn, arn + "/*"}) || st.Principal["AWS"] != "*" ||
				!slices.Equal(st.Action, []string{"s3:*"}) {
				t.Errorf("%s: TLS deny %+v, want every principal and action on the bucket and its objects", b, st)
			}
		}
		if !found {
			t.Errorf("%s: no statement denies aws:SecureTransport=false: %+v", b, p)
		}
	}
	state := parsePolicy(t, at(t, obj(m.byInput(t, "aws:s3/bucketPolicy:BucketPolicy", "bucket", testBucket)), "policy"))
	for _, st := range state.Statement {
		if st.Effect != "Deny" {
			t.Errorf("state bucket policy has a non-Deny statement %+v", st)
		}
	}
}

func keyPolicy(t *testing.T, m *mocks, name string) policyDocument {
	t.Helper()
	for _, r := range m.byType("aws:kms/key:Key") {
		if r.Name == name {
			return parsePolicy(t, at(t, obj(r), "policy"))
		}
	}
	t.Fatalf("no key %s", name)
	return policyDocument{}
}

// principals lists a statement's AWS principals.
func principals(st statement) []string { return stringOrList(st.Principal["AWS"]) }

// stringOrList reads a JSON or YAML value that is one string or a list.
func stringOrList(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, e.(string))
		}
		return out
	}
	return nil
}

func TestKMSKeysHaveExplicitPolicies(t *testing.T) {
	m := mustRun(t)
	keys := m.byType("aws:kms/key:Key")
	if len(keys) != 3 {
		t.Fatalf("%d keys, want the state key and one secrets key per stack (3)", len(keys))
	}
	const base = "alias/promfed-state"
	wantAlias := map[string]string{"state": base, "secrets-dev": base + "-dev", "secrets-prod": base + "-prod"}
	for _, key := range keys {
		if v := at(t, obj(key), "enableKeyRotation"); !v.IsBool() || !v.BoolValue() {
			t.Errorf("%s: enableKeyRotation = %v, want true", key.Name, v)
		}
		if !key.Protect {
			t.Errorf("%s: not protected", key.Name)
		}
		alias := m.byInput(t, "aws:kms/alias:Alias", "name", wantAlias[key.Name])
		if got := at(t, obj(alias), "targetKeyId").StringValue(); got != key.Name+"-key" {
			t.Errorf("%s targets %q, want %s-key", wantAlias[key.Name], got, key.Name)
		}
		p := keyPolicy(t, m, key.Name)
		root := "arn:aws:iam::" + testAccount + ":root"
		for _, st := range p.Statement {
			for _, who := range principals(st) {
				use := slices.ContainsFunc(st.Action, func(a string) bool {
					return a == "kms:Decrypt" || a == "kms:Encrypt" || a == "kms:GenerateDataKey" || strings.HasSuffix(a, "*")
				})
				switch {
				case who == root && use:
					t.Errorf("%s/%s: the account root may use the key (%v): any IAM policy could then grant it", key.Name, st.Sid, st.Action)
				case who != root && !strings.HasPrefix(who, "arn:aws:iam::"+testAccount+":role/promfed-ci-"):
					t.Errorf("%s/%s: principal %s is neither an administrator nor a CI role", key.Name, st.Sid, who)
				}
			}
		}
	}
	// Each secrets key: only its own stack's roles use it.
	for _, stack := range []string{"dev", "prod"} {
		for _, st := range keyPolicy(t, m, "secrets-"+stack).Statement {
			if st.Sid == "KeyAdministration" {
				continue
			}
			for _, who := range principals(st) {
				if !strings.HasSuffix(who, "-"+stack) {
					t.Errorf("secrets key of %s names %s", stack, who)
				}
			}
		}
	}
}

func TestKeyAdministratorsAreConfigurable(t *testing.T) {
	cfg := baseConfig()
	admin := "arn:aws:iam::" + testAccount + ":role/platform-admins"
	cfg["promfed-bootstrap:keyAdministrators"] = `["` + admin + `"]`
	m, err := run(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"state", "secrets-dev", "secrets-prod"} {
		p := keyPolicy(t, m, name)
		if got := principals(p.Statement[0]); p.Statement[0].Sid != "KeyAdministration" || !slices.Equal(got, []string{admin}) {
			t.Errorf("%s: administrators %v, want %s", name, got, admin)
		}
	}
}

// roleTrust returns the trust policy of the named role.
func roleTrust(t *testing.T, m *mocks, name string) policyDocument {
	t.Helper()
	return parsePolicy(t, at(t, obj(m.byInput(t, "aws:iam/role:Role", "name", name)), "assumeRolePolicy"))
}

func trustSubjects(t *testing.T, p policyDocument) []string {
	t.Helper()
	var subs []string
	for _, st := range p.Statement {
		raw, _ := st.Condition["StringEquals"]["token.actions.githubusercontent.com:sub"].([]any)
		for _, s := range raw {
			subs = append(subs, s.(string))
		}
	}
	return subs
}

func TestOIDCTrustIsOneSubjectPerRole(t *testing.T) {
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
		"promfed-ci-preview-dev":  {"repo:acme/promfed:pull_request"},
		"promfed-ci-preview-prod": {"repo:acme/promfed:environment:prod-preview"},
		"promfed-ci-deploy-dev":   {"repo:acme/promfed:environment:dev"},
		"promfed-ci-deploy-prod":  {"repo:acme/promfed:environment:prod"},
	}
	if n := len(m.byType("aws:iam/role:Role")); n != len(cases) {
		t.Errorf("%d roles, want %d", n, len(cases))
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
		if aud := st.Condition["StringEquals"]["token.actions.githubusercontent.com:aud"]; aud != "sts.amazonaws.com" {
			t.Errorf("%s: aud = %v", role, aud)
		}
		if subs := trustSubjects(t, p); !slices.Equal(subs, wantSubs) {
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
	if got := roleTrust(t, m, "promfed-ci-deploy-prod").Statement[0].Principal["Federated"]; got != existing {
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

// rolePolicies returns the managed policies attached to the named role.
func rolePolicies(t *testing.T, m *mocks, role string) map[string]policyDocument {
	t.Helper()
	out := map[string]policyDocument{}
	for name, doc := range managedPolicies(t, m) {
		if strings.HasPrefix(name, role+"-") {
			out[name] = doc
		}
	}
	if len(out) == 0 {
		t.Fatalf("no policies attached to %s", role)
	}
	return out
}

func TestNoWildcardActionInIAMPolicies(t *testing.T) {
	m := mustRun(t)
	docs := managedPolicies(t, m)
	var want []string
	for _, stack := range []string{"dev", "prod"} {
		for _, d := range []string{"alerts", "edge", "iam-s3", "network", "state"} {
			want = append(want, "promfed-ci-deploy-"+stack+"-"+d)
		}
		want = append(want, "promfed-ci-preview-"+stack+"-state")
	}
	want = append(want, "promfed-stack-boundary")
	slices.Sort(want)
	var names []string
	for n := range docs {
		names = append(names, n)
	}
	slices.Sort(names)
	if !slices.Equal(names, want) {
		t.Fatalf("managed policies = %v, want %v", names, want)
	}
	for _, r := range m.byType("aws:iam/role:Role") {
		name := at(t, obj(r), "name").StringValue()
		docs["trust-"+name] = roleTrust(t, m, name)
	}
	actionRe := regexp.MustCompile(`^[a-z0-9-]+:[A-Za-z0-9]+$`)
	count := 0
	for name, p := range docs {
		for _, st := range p.Statement {
			for _, a := range st.Action {
				count++
				if st.Effect == "Allow" && (strings.Contains(a, "*") || !actionRe.MatchString(a)) {
					t.Errorf("%s/%s: action %q is not one explicit action", name, st.Sid, a)
				}
			}
		}
	}
	if count < 400 {
		t.Errorf("only %d actions seen; the deploy grants look incomplete", count)
	}
	// The attachments tie each CI policy to its role; the boundary is not
	// attached, it is required.
	if att := m.byType("aws:iam/rolePolicyAttachment:RolePolicyAttachment"); len(att) != len(want)-1 {
		t.Errorf("%d policy attachments, want %d", len(att), len(want)-1)
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
	for _, r := range m.byType("aws:kms/key:Key") {
		if n := len(at(t, obj(r), "policy").StringValue()); n > 32768 {
			t.Errorf("key %s policy is %d bytes, over KMS's 32 KiB", r.Name, n)
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

// Whatever a pull request's code does, the credentials it can obtain
// (every role whose trust admits the pull_request subject) write nothing,
// read only the pull-request stack's state, and cannot decrypt another
// stack's secrets or state.
func TestPullRequestRolesCannotReachProd(t *testing.T) {
	m := mustRun(t)
	prSubject := "repo:" + testRepo + ":pull_request"
	var prRoles []string
	for _, r := range m.byType("aws:iam/role:Role") {
		name := at(t, obj(r), "name").StringValue()
		if slices.Contains(trustSubjects(t, roleTrust(t, m, name)), prSubject) {
			prRoles = append(prRoles, name)
		}
	}
	if !slices.Equal(prRoles, []string{"promfed-ci-preview-dev"}) {
		t.Fatalf("roles a pull request can assume: %v, want only promfed-ci-preview-dev", prRoles)
	}
	devObjects := stackObjects{stackProject, "dev"}
	bucketARN := "arn:aws:s3:::" + testBucket
	for _, role := range prRoles {
		roleARN := "arn:aws:iam::" + testAccount + ":role/" + role
		mutating := regexp.MustCompile(`:(Create|Delete|Put|Update|Modify|Attach|Detach|Run|Terminate|Encrypt|Pass|Tag|Untag|Authorize|Revoke|Change|Associate|Import)`)
		for name, doc := range rolePolicies(t, m, role) {
			for _, st := range doc.Statement {
				for _, a := range st.Action {
					if mutating.MatchString(a) {
						t.Errorf("%s/%s: a pull request may %s", name, st.Sid, a)
					}
				}
				if slices.Contains(st.Action, "s3:GetObject") {
					for _, res := range st.Resource {
						if !slices.Contains(objectARNs(bucketARN, devObjects.previewReads()), res) {
							t.Errorf("%s/%s: reads %s, outside dev's state", name, st.Sid, res)
						}
					}
				}
			}
		}
		for _, key := range []string{"state", "secrets-dev", "secrets-prod"} {
			for _, st := range keyPolicy(t, m, key).Statement {
				if !slices.Contains(principals(st), roleARN) {
					continue
				}
				if key == "secrets-prod" {
					t.Errorf("%s may %v with prod's secrets key", role, st.Action)
				}
				for _, a := range st.Action {
					if a != "kms:Decrypt" && a != "kms:DescribeKey" {
						t.Errorf("%s/%s: %s may %s", key, st.Sid, role, a)
					}
				}
				if key == "state" {
					raw, _ := st.Condition["StringLike"]["kms:EncryptionContext:aws:s3:arn"].([]any)
					if len(raw) == 0 || st.Condition["StringEquals"]["kms:ViaService"] != "s3."+testRegion+".amazonaws.com" {
						t.Errorf("state key/%s: %s not limited to S3 and its objects: %v", st.Sid, role, st.Condition)
					}
					for _, r := range raw {
						if !slices.Contains(objectARNs(bucketARN, devObjects.previewReads()), r.(string)) {
							t.Errorf("state key/%s: %s may decrypt %s, outside dev's state", st.Sid, role, r)
						}
					}
				}
			}
		}
	}
}

// A deploy role reads and writes only its own stack's state, deletes only
// its own lock, and uses only its own secrets key.
func TestDeployRolesAreLimitedToTheirStack(t *testing.T) {
	m := mustRun(t)
	bucketARN := "arn:aws:s3:::" + testBucket
	for _, stack := range []string{"dev", "prod"} {
		other := map[string]string{"dev": "prod", "prod": "dev"}[stack]
		role := "promfed-ci-deploy-" + stack
		state := rolePolicies(t, m, role)[role+"-state"]
		o := stackObjects{stackProject, stack}
		for action, want := range map[string][]string{
			"s3:PutObject": objectARNs(bucketARN, o.deployWrites()), "s3:DeleteObject": objectARNs(bucketARN, o.deployDeletes()),
			"s3:GetObject": objectARNs(bucketARN, o.deployReads()),
		} {
			sts := statementsWith(state, action)
			if len(sts) != 1 || !slices.Equal(sts[0].Resource, want) {
				t.Errorf("%s: %s on %+v, want exactly %v", role, action, sts, want)
			}
			for _, res := range sts[0].Resource {
				if strings.Contains(res, "/"+other) {
					t.Errorf("%s: %s reaches %s", role, action, res)
				}
			}
		}
		for _, st := range keyPolicy(t, m, "secrets-"+other).Statement {
			if slices.Contains(principals(st), "arn:aws:iam::"+testAccount+":role/"+role) {
				t.Errorf("%s may use %s's secrets key: %v", role, other, st.Action)
			}
		}
		for _, a := range []string{"s3:PutBucketPolicy", "s3:DeleteObjectVersion", "s3:PutBucketVersioning", "s3:DeleteBucket"} {
			sts := statementsWith(state, a)
			if len(sts) != 1 || sts[0].Effect != "Deny" {
				t.Errorf("%s: %s on the state bucket is not denied: %+v", role, a, sts)
			}
		}
		guard := statementsWith(state, "kms:PutKeyPolicy")
		if len(guard) != 1 || guard[0].Effect != "Deny" || !slices.Contains(guard[0].Resource, stateKeyARN) ||
			!slices.Contains(guard[0].Resource, secretsKeyARN("dev")) || !slices.Contains(guard[0].Resource, secretsKeyARN("prod")) {
			t.Errorf("%s: the bootstrap keys' policies are not protected: %+v", role, guard)
		}
		for _, st := range rolePolicies(t, m, role)[role+"-network"].Statement {
			if st.Condition["StringEquals"]["aws:RequestedRegion"] != testRegion {
				t.Errorf("%s: EC2 statement %s not pinned to %s: %v", role, st.Sid, testRegion, st.Condition)
			}
		}
	}
}

// IAM writes: a deploy role may create or change only roles on its stack's
// path, only with the boundary attached, attach only the listed AWS-managed
// policies, never remove a boundary, never rewrite the boundary or a CI role.
func TestDeployRolesCannotEscalate(t *testing.T) {
	m := mustRun(t)
	boundary := "arn:aws:iam::" + testAccount + ":policy/promfed/promfed-stack-boundary"
	widening := map[string]bool{"iam:CreateRole": true, "iam:PutRolePolicy": true, "iam:AttachRolePolicy": true,
		"iam:PutRolePermissionsBoundary": true, "iam:DeleteRolePolicy": true, "iam:DetachRolePolicy": true}
	for _, stack := range []string{"dev", "prod"} {
		role := "promfed-ci-deploy-" + stack
		ownPath := "arn:aws:iam::" + testAccount + ":role/promfed/" + stack + "/"
		ownProfiles := "arn:aws:iam::" + testAccount + ":instance-profile/promfed/" + stack + "/"
		seen := map[string]bool{}
		for name, doc := range rolePolicies(t, m, role) {
			for _, st := range doc.Statement {
				for _, a := range st.Action {
					if !strings.HasPrefix(a, "iam:") || st.Effect != "Allow" {
						continue
					}
					seen[a] = true
					for _, res := range st.Resource {
						ok := strings.HasPrefix(res, ownPath) || strings.HasPrefix(res, ownProfiles) ||
							(strings.HasPrefix(res, "arn:aws:iam::"+testAccount+":role/aws-service-role/") && st.Condition["StringEquals"]["iam:AWSServiceName"] != nil)
						if !ok {
							t.Errorf("%s/%s: %s on %s, outside /promfed/%s/", name, st.Sid, a, res, stack)
						}
					}
					if widening[a] && st.Condition["StringEquals"]["iam:PermissionsBoundary"] != boundary {
						t.Errorf("%s/%s: %s without requiring the boundary: %v", name, st.Sid, a, st.Condition)
					}
					if a == "iam:AttachRolePolicy" {
						raw, _ := st.Condition["ArnEquals"]["iam:PolicyARN"].([]any)
						if len(raw) != 2 {
							t.Errorf("%s/%s: AttachRolePolicy of any policy: %v", name, st.Sid, st.Condition)
						}
					}
					if strings.Contains(a, "Policy") && strings.HasSuffix(a, "Version") || a == "iam:CreatePolicy" {
						t.Errorf("%s/%s: may write managed policies (%s)", name, st.Sid, a)
					}
				}
			}
		}
		for a := range widening {
			if !seen[a] {
				t.Errorf("%s: never granted %s; the check above would be vacuous for it", role, a)
			}
		}
		iamDoc := rolePolicies(t, m, role)[role+"-iam-s3"]
		keep := statementsWith(iamDoc, "iam:DeleteRolePermissionsBoundary")
		if len(keep) != 1 || keep[0].Effect != "Deny" || !slices.Equal(keep[0].Resource, []string{"*"}) {
			t.Errorf("%s: boundaries can be removed: %+v", role, keep)
		}
		guard := statementsWith(iamDoc, "iam:CreatePolicyVersion")
		if len(guard) != 1 || guard[0].Effect != "Deny" || !slices.Contains(guard[0].Resource, boundary) ||
			!slices.Contains(guard[0].Resource, "arn:aws:iam::"+testAccount+":role/promfed-ci-*") {
			t.Errorf("%s: the boundary or the CI roles can be rewritten: %+v", role, guard)
		}
	}
	// The boundary itself grants nothing that reaches IAM, STS, S3 or KMS
	// administration.
	b := managedPolicies(t, m)["promfed-stack-boundary"]
	for _, st := range b.Statement {
		for _, a := range st.Action {
			svc, _, _ := strings.Cut(a, ":")
			if svc == "iam" || svc == "sts" || svc == "s3" || svc == "organizations" ||
				(svc == "kms" && a != "kms:Decrypt" && a != "kms:GenerateDataKey") {
				t.Errorf("boundary/%s allows %s", st.Sid, a)
			}
		}
	}
	bp := m.byInput(t, "aws:iam/policy:Policy", "name", "promfed-stack-boundary")
	if got := at(t, obj(bp), "path").StringValue(); got != "/promfed/" {
		t.Errorf("boundary path = %q, want /promfed/", got)
	}
}

func TestConfigValidation(t *testing.T) {
	cases := []struct {
		key, value, rule string
		extra            map[string]string
	}{
		{"promfed-bootstrap:githubRepo", "", "is required", nil},
		{"promfed-bootstrap:githubRepo", "acme", "must be owner/repo", nil},
		{"promfed-bootstrap:githubRepo", "acme/promfed/extra", "must be owner/repo", nil},
		{"promfed-bootstrap:stateBucket", "Promfed_State", "3-63 characters", nil},
		{"promfed-bootstrap:stateBucket", "xn--promfed", "reserved prefix", nil},
		{"promfed-bootstrap:kmsAlias", "alias/promfed", "without 'alias/'", nil},
		{"promfed-bootstrap:kmsAlias", "aws/ebs", "reserved aws/", nil},
		{"promfed-bootstrap:githubOidcProviderArn", "arn:aws:iam::1234:oidc-provider/example.com", "oidc-provider/token.actions", nil},
		{"promfed-bootstrap:noncurrentVersionDays", "0", "from 1 to 3650", nil},
		{"promfed-bootstrap:noncurrentVersionDays", "ninety", "from 1 to 3650", nil},
		{"promfed-bootstrap:rolePrefix", "has space", "letters, digits", nil},
		{"promfed-bootstrap:rolePrefix", strings.Repeat("r", 40), "IAM allows 64",
			map[string]string{"promfed-bootstrap:stacks": `["dev","abcdefghijklmnopqrst"]`}},
		{"promfed-bootstrap:stackBucketPrefix", "UPPER", "lowercase", nil},
		{"promfed-bootstrap:stacks", `["dev","dev"]`, "unique", nil},
		{"promfed-bootstrap:stacks", `"dev"`, "list of strings", nil},
		{"promfed-bootstrap:pullRequestStack", "prod2", "one of stacks", nil},
		{"promfed-bootstrap:stackNamePrefix", "Promfed", "namePrefix", nil},
		{"promfed-bootstrap:keyAdministrators", `["alice"]`, "IAM ARN", nil},
		{"promfed-bootstrap:accessLogBucket", testBucket, "other than the state bucket", nil},
		{"aws:region", "mars-1", "AWS region", nil},
	}
	for _, c := range cases {
		t.Run(c.key+"="+c.value, func(t *testing.T) {
			cfg := baseConfig()
			cfg[c.key] = c.value
			for k, v := range c.extra {
				cfg[k] = v
			}
			if c.value == "" {
				delete(cfg, c.key)
			}
			m, err := run(t, cfg)
			if err == nil {
				t.Fatal("program accepted invalid config")
			}
			short := c.key[strings.Index(c.key, ":")+1:]
			for _, want := range []string{short, c.rule} {
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
	if total < 250 {
		t.Errorf("only %d actions in the lists", total)
	}
}
