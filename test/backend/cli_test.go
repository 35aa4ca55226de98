package backend

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestOperatorCLIEditsTheRealStackFile drives `promfed restore` and `promfed
// scale` (cmd/promfed) against the real CLI and the real prod stack file:
// the config paths they set must land where the program reads them, and
// the edited file must still pass the CLI's config validation. Preview
// cannot run a Go program here, so the edits use -no-preview and the test
// previews itself, up to the missing language host.
func TestOperatorCLIEditsTheRealStackFile(t *testing.T) {
	e := newEnv(t)
	e.useProjectFiles("prod")
	e.mustPulumi("login", e.url)
	e.mustPulumi("stack", "init", "organization/prod")
	e.mustPulumi("config", "set", "--stack", "prod", "--secret", "hostKeySeed", "0123456789abcdef0123456789abcdef")
	e.mustPulumi("config", "set", "--stack", "prod", "--secret", "webPassword", "a-long-enough-password")

	bin := filepath.Join(t.TempDir(), "promfed")
	build := exec.Command("go", "build", "-o", bin, "./cmd/promfed")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building cmd/promfed: %v\n%s", err, out)
	}
	promfed := func(args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Dir = e.project
		cmd.Env = append(os.Environ(), "PROMFED_PULUMI="+filepath.Join(e.cliRoot, "bin", "pulumi"))
		for k, v := range e.vars {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		return out.String(), err
	}

	if out, err := promfed("restore", "-stack", "prod", "-no-preview", "secondary-apps-1", "snap-0123456789abcdef0"); err != nil {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	if out, err := promfed("restore", "-stack", "prod", "-no-preview", "secondary-data-1", "snap-89abcdef"); err != nil {
		t.Fatalf("second restore: %v\n%s", err, out)
	}
	if out, err := promfed("scale", "-stack", "prod", "-no-preview", "data", "3"); err != nil {
		t.Fatalf("scale: %v\n%s", err, out)
	}
	for path, want := range map[string]string{
		"promfed:restoreSnapshots[0].host":     "secondary-apps-1",
		"promfed:restoreSnapshots[0].snapshot": "snap-0123456789abcdef0",
		"promfed:restoreSnapshots[1].host":     "secondary-data-1",
		"promfed:shards[1].name":               "data",
		"promfed:shards[1].secondaries":        "3",
		"promfed:shards[0].secondaries":        "2",
	} {
		if got := strings.TrimSpace(e.mustPulumi("config", "get", "--stack", "prod", "--path", path)); got != want {
			t.Errorf("%s = %q, want %q", path, got, want)
		}
	}
	// A number, not the string "3": the program reads secondaries as an integer.
	if got := e.mustPulumi("config", "get", "--stack", "prod", "promfed:shards", "--json"); !strings.Contains(got, `\"secondaries\":3`) {
		t.Errorf("shards as the program gets them: %s", got)
	}
	const pastValidation = "no language plugin 'pulumi-language-go'"
	if _, err := e.pulumi("preview", "--stack", "prod"); err == nil || !strings.Contains(err.Error(), pastValidation) {
		t.Fatalf("want the edited file to pass config validation, got %v", err)
	}

	// With a preview (which fails here), the edit is undone.
	out, err := promfed("scale", "-stack", "prod", "apps", "4")
	if err == nil || !strings.Contains(out, "the preview failed, shards[0].secondaries is back to 2") {
		t.Errorf("failed preview: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(e.mustPulumi("config", "get", "--stack", "prod", "--path", "promfed:shards[0].secondaries")); got != "2" {
		t.Errorf("after the undo shards[0].secondaries = %s", got)
	}
}
