// Package backend checks the team's self-managed S3 state workflow end to end
// against an in-process fake S3 (gofakes3): login, stacks, secrets, an
// Automation API update, the state lock, clearing a stale lock, and restoring
// an older state version. It drives a Pulumi CLI built from Go modules by
// build-pulumi.sh (path in PULUMI_CLI_ROOT, default under the user cache).
package backend

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"
)

const (
	bucketName  = "promfed-state"
	projectName = "promfed-backend-test"
	region      = "eu-west-1"
	passphrase  = "correct horse battery staple"
	secretValue = "s3cr3t-Ω-value"
	stateKeyDev = ".pulumi/stacks/" + projectName + "/dev.json"
)

// lockPrefix is where the diy backend keeps a stack's lock objects.
func lockPrefix(stack string) string {
	return ".pulumi/locks/organization/" + projectName + "/" + stack + "/"
}

// env is one test's fake S3 + isolated Pulumi home.
type env struct {
	t       *testing.T
	s3      *s3mem.Backend
	guard   *guard
	url     string
	cliRoot string
	home    string
	project string
	vars    map[string]string
}

func cliRoot(t *testing.T) string {
	t.Helper()
	root := os.Getenv("PULUMI_CLI_ROOT")
	if root == "" {
		cache := os.Getenv("XDG_CACHE_HOME")
		if cache == "" {
			h, err := os.UserHomeDir()
			if err != nil {
				t.Fatal(err)
			}
			cache = filepath.Join(h, ".cache")
		}
		root = filepath.Join(cache, "promfed", "pulumi-v3.276.0")
	}
	if _, err := os.Stat(filepath.Join(root, "bin", "pulumi")); err != nil {
		t.Fatalf("no Pulumi CLI at %s/bin/pulumi (%v): run test/backend/build-pulumi.sh or `make test-backend`", root, err)
	}
	return root
}

func newEnv(t *testing.T) *env {
	t.Helper()
	mem := s3mem.New()
	if err := mem.CreateBucket(bucketName); err != nil {
		t.Fatal(err)
	}
	// Versioned like the real state bucket, so old state can be recovered.
	if err := mem.SetVersioningConfiguration(bucketName, gofakes3.VersioningConfiguration{
		Status: gofakes3.VersioningEnabled,
	}); err != nil {
		t.Fatal(err)
	}
	g := &guard{next: gofakes3.New(mem, gofakes3.WithLogger(gofakes3.DiscardLog())).Server(), bucket: bucketName,
		grants: map[string][]grantStatement{}}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	hostPort := strings.TrimPrefix(srv.URL, "http://")
	if !strings.HasPrefix(hostPort, "127.0.0.1:") {
		t.Fatalf("fake S3 listens on %s, want loopback", srv.URL)
	}

	e := &env{t: t, s3: mem, guard: g, cliRoot: cliRoot(t), home: t.TempDir(), project: t.TempDir()}
	// The v1-style parameters (disableSSL, s3ForcePathStyle, scheme-less
	// endpoint) are what most guides show; Pulumi 3.276 translates them for
	// the AWS SDK v2 driver of gocloud.dev.
	e.url = fmt.Sprintf("s3://%s?endpoint=%s&disableSSL=true&s3ForcePathStyle=true&region=%s",
		bucketName, hostPort, region)
	none := filepath.Join(e.home, "no-such-aws-file")
	e.vars = map[string]string{
		"PULUMI_HOME":                                 e.home,
		"PULUMI_CONFIG_PASSPHRASE":                    passphrase,
		"PULUMI_SKIP_UPDATE_CHECK":                    "true",
		"PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
		"AWS_ACCESS_KEY_ID":                           "AKIDFAKEFAKEFAKE",
		"AWS_SECRET_ACCESS_KEY":                       "fake-secret",
		"AWS_REGION":                                  region,
		"AWS_CONFIG_FILE":                             none,
		"AWS_SHARED_CREDENTIALS_FILE":                 none,
		"AWS_EC2_METADATA_DISABLED":                   "true",
		"AWS_PROFILE":                                 "",
		"AWS_SESSION_TOKEN":                           "",
		"PULUMI_BACKEND_URL":                          "",
		"PULUMI_ACCESS_TOKEN":                         "",
	}
	yaml := "name: " + projectName + "\nruntime: go\ndescription: state backend check\n"
	if err := os.WriteFile(filepath.Join(e.project, "Pulumi.yaml"), []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return e
}

// pulumi runs the CLI in the project directory and returns stdout.
func (e *env) pulumi(args ...string) (string, error) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(e.cliRoot, "bin", "pulumi"), append(args, "--non-interactive")...)
	cmd.Dir = e.project
	cmd.Env = os.Environ()
	for k, v := range e.vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		return stdout.String(), fmt.Errorf("pulumi %s: %w\nstdout:\n%s\nstderr:\n%s",
			strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String(), nil
}

func (e *env) mustPulumi(args ...string) string {
	e.t.Helper()
	out, err := e.pulumi(args...)
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// keys lists the object keys under prefix in the fake bucket.
func (e *env) keys(prefix string) []string {
	e.t.Helper()
	p := gofakes3.Prefix{HasPrefix: true, Prefix: prefix}
	list, err := e.s3.ListBucket(bucketName, &p, gofakes3.ListBucketPage{})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, c := range list.Contents {
		out = append(out, c.Key)
	}
	return out
}

func (e *env) object(key string, version gofakes3.VersionID) []byte {
	e.t.Helper()
	obj, err := e.s3.GetObjectVersion(bucketName, key, version, nil)
	if err != nil {
		e.t.Fatalf("get %s@%s: %v", key, version, err)
	}
	defer func() { _ = obj.Contents.Close() }()
	b, err := io.ReadAll(obj.Contents)
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

// inlineStack opens a stack of the test project whose program is run
// in-process by the Automation API (no language plugin needed).
func (e *env) inlineStack(ctx context.Context, stack string, program pulumi.RunFunc) auto.Stack {
	e.t.Helper()
	return e.inlineStackAs(ctx, stack, program, "")
}

// inlineStackAs is inlineStack with the CLI signing its S3 requests with
// the access key id keyID ("" = the unrestricted test key).
func (e *env) inlineStackAs(ctx context.Context, stack string, program pulumi.RunFunc, keyID string) auto.Stack {
	e.t.Helper()
	s, err := e.openStackAs(ctx, stack, program, keyID)
	if err != nil {
		e.t.Fatalf("open stack %s: %v", stack, err)
	}
	return s
}

// openStackAs opens the stack like inlineStackAs and returns the error.
func (e *env) openStackAs(ctx context.Context, stack string, program pulumi.RunFunc, keyID string) (auto.Stack, error) {
	e.t.Helper()
	cmd, err := auto.NewPulumiCommand(&auto.PulumiCommandOptions{Root: e.cliRoot})
	if err != nil {
		return auto.Stack{}, fmt.Errorf("automation API refused the CLI: %w", err)
	}
	vars := map[string]string{}
	for k, v := range e.vars {
		if v != "" {
			vars[k] = v
		}
	}
	if keyID != "" {
		vars["AWS_ACCESS_KEY_ID"] = keyID
	}
	s, err := auto.UpsertStackInlineSource(ctx, stack, projectName, program,
		auto.Pulumi(cmd), auto.PulumiHome(e.home), auto.WorkDir(e.project), auto.EnvVars(vars),
		auto.Project(workspace.Project{Name: projectName, Runtime: workspace.NewProjectRuntimeInfo("go", nil)}),
		auto.SecretsProvider("passphrase"))
	return s, err
}

// greeter exports a plain output and the decrypted secret config value.
func greeter(message string) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		ctx.Export("greeting", pulumi.Sprintf("%s from %s", message, ctx.Stack()))
		ctx.Export("password", config.GetSecret(ctx, "dbPassword"))
		return nil
	}
}

func TestS3StateWorkflow(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	t.Run("login", func(t *testing.T) {
		out := e.mustPulumi("login", e.url)
		if !strings.Contains(out, "Logged in to") || !strings.Contains(out, "s3://"+bucketName) {
			t.Fatalf("login said %q", out)
		}
		who := e.mustPulumi("whoami", "--verbose")
		if !strings.Contains(who, "Backend URL: s3://"+bucketName+"?") {
			t.Fatalf("whoami does not show the S3 backend:\n%s", who)
		}
	})

	t.Run("stack init dev and prod", func(t *testing.T) {
		// Both reference forms work on a self-managed backend: the full
		// organization/<project>/<stack> and the short organization/<stack>.
		e.mustPulumi("stack", "init", "organization/"+projectName+"/dev", "--secrets-provider", "passphrase")
		e.mustPulumi("stack", "init", "organization/prod", "--secrets-provider", "passphrase")
		var stacks []struct {
			Name string `json:"name"`
		}
		if err := json.Unmarshal([]byte(e.mustPulumi("stack", "ls", "--json")), &stacks); err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, s := range stacks {
			names = append(names, s.Name)
		}
		if strings.Join(names, ",") != "organization/"+projectName+"/dev,organization/"+projectName+"/prod" &&
			strings.Join(names, ",") != "dev,prod" {
			t.Fatalf("stacks = %v, want dev and prod", names)
		}
		for _, s := range []string{"dev", "prod"} {
			key := ".pulumi/stacks/" + projectName + "/" + s + ".json"
			// The backend keeps a .bak copy beside each state object.
			if got := e.keys(key); !slices.Equal(got, []string{key, key + ".bak"}) {
				t.Errorf("state objects for %s: found %v", key, got)
			}
		}
		if got := e.keys(".pulumi/meta.yaml"); len(got) != 1 {
			t.Errorf("backend metadata .pulumi/meta.yaml: found %v", got)
		}
	})

	t.Run("secret config round trip", func(t *testing.T) {
		for _, s := range []string{"dev", "prod"} {
			e.mustPulumi("config", "set", "--secret", "--stack", s, "dbPassword", secretValue)
			file, err := os.ReadFile(filepath.Join(e.project, "Pulumi."+s+".yaml"))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(file), projectName+":dbPassword:\n    secure: ") {
				t.Errorf("Pulumi.%s.yaml does not store dbPassword as secure:\n%s", s, file)
			}
			if strings.Contains(string(file), secretValue) {
				t.Errorf("Pulumi.%s.yaml contains the plaintext secret", s)
			}
			if !strings.Contains(string(file), "encryptionsalt: v1:") {
				t.Errorf("Pulumi.%s.yaml has no passphrase salt:\n%s", s, file)
			}
			if got := strings.TrimSpace(e.mustPulumi("config", "get", "--stack", s, "dbPassword")); got != secretValue {
				t.Errorf("config get %s dbPassword = %q, want %q", s, got, secretValue)
			}
		}
	})

	t.Run("automation api up", func(t *testing.T) {
		st := e.inlineStack(ctx, "dev", greeter("first"))
		res, err := st.Up(ctx)
		if err != nil {
			t.Fatalf("up: %v", err)
		}
		if res.Summary.Result != "succeeded" || res.Summary.Kind != "update" {
			t.Errorf("summary = %s %s", res.Summary.Kind, res.Summary.Result)
		}
		if got := res.Outputs["greeting"].Value; got != "first from dev" {
			t.Errorf("greeting = %v, want %q", got, "first from dev")
		}
		pw := res.Outputs["password"]
		if !pw.Secret || pw.Value != secretValue {
			t.Errorf("password output = %+v, want secret %q", pw, secretValue)
		}
		state := string(e.object(stateKeyDev, ""))
		if !strings.Contains(state, "first from dev") {
			t.Errorf("the S3 state does not hold the new output")
		}
		if strings.Contains(state, secretValue) {
			t.Errorf("the S3 state holds the secret in plaintext")
		}
		if got := e.keys(lockPrefix("dev")); len(got) != 0 {
			t.Errorf("lock objects left after a finished update: %v", got)
		}
	})

	t.Run("concurrent update refused by the lock", func(t *testing.T) {
		started, release := make(chan struct{}), make(chan struct{})
		blocking := func(ctx *pulumi.Context) error {
			close(started)
			<-release
			ctx.Export("greeting", pulumi.String("held the lock"))
			return nil
		}
		first := e.inlineStack(ctx, "prod", blocking)
		done := make(chan error, 1)
		var firstRes auto.UpResult
		go func() {
			r, err := first.Up(ctx)
			firstRes = r
			done <- err
		}()
		select {
		case <-started:
		case err := <-done:
			t.Fatalf("blocking update ended early: %v", err)
		case <-time.After(3 * time.Minute):
			t.Fatal("blocking update never started")
		}

		locks := e.keys(lockPrefix("prod"))
		if len(locks) != 1 || !strings.HasSuffix(locks[0], ".json") {
			close(release)
			t.Fatalf("while an update runs, locks = %v, want one .json object under %s", locks, lockPrefix("prod"))
		}
		var holder struct {
			Pid      int    `json:"pid"`
			Hostname string `json:"hostname"`
		}
		if err := json.Unmarshal(e.object(locks[0], ""), &holder); err != nil || holder.Pid == 0 || holder.Hostname == "" {
			t.Errorf("lock content %+v (%v): want pid and hostname", holder, err)
		}

		second := e.inlineStack(ctx, "prod", greeter("second"))
		// A preview takes no lock on a self-managed backend: PR previews
		// still run while a deploy holds the stack.
		prev, err := second.Preview(ctx)
		if err != nil {
			t.Errorf("preview while the lock is held: %v", err)
		} else {
			total := 0
			for _, n := range prev.ChangeSummary {
				total += n
			}
			if total == 0 {
				t.Errorf("preview summary %v: want at least the stack resource", prev.ChangeSummary)
			}
		}

		var stderr bytes.Buffer
		_, err = second.Up(ctx, optup.ErrorProgressStreams(&stderr))
		if err == nil {
			close(release)
			t.Fatal("a second update ran while the first held the lock")
		}
		msg := err.Error() + stderr.String()
		if !strings.Contains(msg, "the stack is currently locked by 1 lock(s)") ||
			!strings.Contains(msg, locks[0]) {
			t.Errorf("second update failed for another reason: %v", msg)
		}

		close(release)
		if err := <-done; err != nil {
			t.Fatalf("the lock holder failed: %v", err)
		}
		if got := firstRes.Outputs["greeting"].Value; got != "held the lock" {
			t.Errorf("lock holder output = %v", got)
		}
		if got := e.keys(lockPrefix("prod")); len(got) != 0 {
			t.Errorf("lock objects after release: %v, want none", got)
		}
	})

	t.Run("stale lock cleared with pulumi cancel", func(t *testing.T) {
		// A runner that died mid-update leaves its lock object behind.
		stale := lockPrefix("dev") + "0b5e55ed-dead-4bad-beef-000000000001.json"
		body := `{"pid":4242,"username":"runner","hostname":"crashed-runner","timestamp":"2026-01-02T03:04:05Z"}`
		if _, err := e.s3.PutObject(bucketName, stale, map[string]string{}, strings.NewReader(body), int64(len(body)), nil); err != nil {
			t.Fatal(err)
		}
		blocked := e.inlineStack(ctx, "dev", greeter("blocked"))
		_, err := blocked.Up(ctx)
		if err == nil || !strings.Contains(err.Error(), "crashed-runner") {
			t.Fatalf("update with a stale lock: %v, want refusal naming the stale holder", err)
		}
		// Self-managed backends: `pulumi cancel` deletes the stack's lock
		// objects (it does not stop a running process anywhere).
		e.mustPulumi("cancel", "--yes", "--stack", "dev")
		if got := e.keys(lockPrefix("dev")); len(got) != 0 {
			t.Fatalf("locks after cancel: %v", got)
		}
		after := e.inlineStack(ctx, "dev", greeter("second"))
		res, err := after.Up(ctx)
		if err != nil {
			t.Fatalf("up after cancel: %v", err)
		}
		if got := res.Outputs["greeting"].Value; got != "second from dev" {
			t.Errorf("greeting = %v, want %q", got, "second from dev")
		}
	})

	t.Run("restore an older state version", func(t *testing.T) {
		versions, err := e.s3.ListBucketVersions(bucketName,
			&gofakes3.Prefix{HasPrefix: true, Prefix: stateKeyDev}, &gofakes3.ListBucketVersionsPage{})
		if err != nil {
			t.Fatal(err)
		}
		var old []byte
		n := 0
		for _, item := range versions.Versions {
			v, ok := item.(*gofakes3.Version)
			if !ok || v.Key != stateKeyDev {
				continue
			}
			n++
			body := e.object(stateKeyDev, v.VersionID)
			if !v.IsLatest && bytes.Contains(body, []byte("first from dev")) {
				old = body
			}
		}
		if n < 3 || old == nil {
			t.Fatalf("%d versions of %s, none older holding the first output", n, stateKeyDev)
		}
		// The stored object is a checkpoint; `stack import` wants a
		// deployment: {version, deployment: checkpoint.latest}.
		var cp struct {
			Version    int `json:"version"`
			Checkpoint struct {
				Latest json.RawMessage `json:"latest"`
			} `json:"checkpoint"`
		}
		if err := json.Unmarshal(old, &cp); err != nil || len(cp.Checkpoint.Latest) == 0 {
			t.Fatalf("old version is not a checkpoint: %v", err)
		}
		dep, err := json.Marshal(map[string]any{"version": cp.Version, "deployment": cp.Checkpoint.Latest})
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(t.TempDir(), "dev-restore.json")
		if err := os.WriteFile(file, dep, 0o600); err != nil {
			t.Fatal(err)
		}
		e.mustPulumi("stack", "import", "--stack", "dev", "--file", file)
		if got := strings.TrimSpace(e.mustPulumi("stack", "output", "--stack", "dev", "greeting")); got != "first from dev" {
			t.Errorf("after import greeting = %q, want the restored %q", got, "first from dev")
		}
		if !bytes.Contains(e.object(stateKeyDev, ""), []byte("first from dev")) {
			t.Error("the restored state is not the current S3 object")
		}
	})

	t.Run("CI roles: preview and up with exactly their grants", func(t *testing.T) {
		grants, err := loadGrants(bucketName, projectName)
		if err != nil {
			t.Fatal(err)
		}
		const previewKey, deployKey = "AKIDPREVIEWDEVROLE", "AKIDDEPLOYDEVROLE"
		e.guard.restrict(previewKey, grants["preview-dev"])
		e.guard.restrict(deployKey, grants["deploy-dev"])
		sids := func(sts []grantStatement) []string {
			var out []string
			for _, st := range sts {
				out = append(out, st.Sid)
			}
			return out
		}
		// check asserts nothing was denied, no write outside wantWrites
		// happened, and every statement of the grant was needed.
		check := func(t *testing.T, what string, reqs []s3Request, grant []grantStatement, writes bool) {
			t.Helper()
			used := map[string]bool{}
			for _, r := range reqs {
				if !r.Allowed {
					t.Errorf("%s: denied %s", what, r)
				}
				if !writes && r.Action != "s3:GetObject" && r.Action != "s3:ListBucket" {
					t.Errorf("%s: writes (%s)", what, r)
				}
				used[r.Statement] = true
			}
			for _, sid := range sids(grant) {
				if !used[sid] {
					t.Errorf("%s never needed statement %s: the grant is wider than the CLI needs", what, sid)
				}
			}
			if len(reqs) < 3 {
				t.Errorf("%s made %d requests with its key: the CLI did not use it", what, len(reqs))
			}
		}

		start := e.guard.mark()
		dev := e.inlineStackAs(ctx, "dev", greeter("third"), previewKey)
		if _, err := dev.Preview(ctx); err != nil {
			t.Fatalf("preview dev with the dev preview role: %v", err)
		}
		check(t, "preview dev", e.guard.since(start, previewKey), grants["preview-dev"], false)

		start = e.guard.mark()
		if prod, err := e.openStackAs(ctx, "prod", greeter("third"), previewKey); err == nil {
			if _, err := prod.Preview(ctx); err == nil {
				t.Error("the dev preview role previewed prod")
			}
		}
		refused := false
		for _, r := range e.guard.since(start, previewKey) {
			refused = refused || (!r.Allowed && strings.Contains(r.Resource, "/prod."))
		}
		if !refused {
			t.Error("previewing prod with the dev preview role was not refused on prod's state")
		}

		start = e.guard.mark()
		up := e.inlineStackAs(ctx, "dev", greeter("third"), deployKey)
		res, err := up.Up(ctx)
		if err != nil {
			t.Fatalf("up dev with the dev deploy role: %v", err)
		}
		if got := res.Outputs["greeting"].Value; got != "third from dev" {
			t.Errorf("greeting = %v", got)
		}
		check(t, "up dev", e.guard.since(start, deployKey), grants["deploy-dev"], true)
		if got := e.keys(lockPrefix("dev")); len(got) != 0 {
			t.Errorf("lock left behind by the deploy role: %v", got)
		}

		before := string(e.object(".pulumi/stacks/"+projectName+"/prod.json", ""))
		start = e.guard.mark()
		if upProd, err := e.openStackAs(ctx, "prod", greeter("third"), deployKey); err == nil {
			if _, err := upProd.Up(ctx); err == nil {
				t.Error("the dev deploy role updated prod")
			}
		}
		for _, r := range e.guard.since(start, deployKey) {
			if r.Allowed && r.Action != "s3:GetObject" && r.Action != "s3:ListBucket" && strings.Contains(r.Resource, "prod") {
				t.Errorf("the dev deploy role wrote %s", r)
			}
		}
		if after := string(e.object(".pulumi/stacks/"+projectName+"/prod.json", "")); after != before {
			t.Error("prod's state changed")
		}
	})
}
