package backend

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStackFilesPassTheCLIsConfigValidation hands the real project file and
// each stack file to the real CLI. It validates stack config against the
// Pulumi.yaml schema (types, required keys, secrets) before it starts the
// program, so a preview that gets as far as looking for the Go language
// host (not available here) has passed that validation.
func TestStackFilesPassTheCLIsConfigValidation(t *testing.T) {
	const pastValidation = "no language plugin 'pulumi-language-go'"
	for _, stack := range []string{"dev", "prod"} {
		t.Run(stack, func(t *testing.T) {
			e := newEnv(t)
			e.useProjectFiles(stack)
			e.mustPulumi("login", e.url)
			e.mustPulumi("stack", "init", "organization/"+stack)

			_, err := e.pulumi("preview", "--stack", stack)
			if err == nil || !strings.Contains(err.Error(), "is missing configuration values 'hostKeySeed' and 'webPassword'") {
				t.Fatalf("want the CLI to ask for the required secrets, got %v", err)
			}

			e.mustPulumi("config", "set", "--stack", stack, "--secret", "hostKeySeed", "0123456789abcdef0123456789abcdef")
			e.mustPulumi("config", "set", "--stack", stack, "--plaintext", "webPassword", "a-plain-text-password")
			if _, err := e.pulumi("preview", "--stack", stack); err == nil || !strings.Contains(err.Error(), "'webPassword' must be encrypted") {
				t.Fatalf("want a plain-text secret refused, got %v", err)
			}

			e.mustPulumi("config", "set", "--stack", stack, "--secret", "webPassword", "a-long-enough-password")
			_, err = e.pulumi("preview", "--stack", stack)
			if err == nil || !strings.Contains(err.Error(), pastValidation) || strings.Contains(err.Error(), "validating stack config") {
				t.Fatalf("want config validation to pass and the run to stop at the missing Go language host, got %v", err)
			}
		})
	}
}

// useProjectFiles puts the repository's Pulumi.yaml and stack file into
// the test's project folder, in place of the test project.
func (e *env) useProjectFiles(stack string) {
	e.t.Helper()
	for _, name := range []string{"Pulumi.yaml", "Pulumi." + stack + ".yaml"} {
		body, err := os.ReadFile(filepath.Join("..", "..", name))
		if err != nil {
			e.t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(e.project, name), body, 0o600); err != nil {
			e.t.Fatal(err)
		}
	}
}
