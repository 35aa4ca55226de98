package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The GitHub half of the trust boundary. For every job of every workflow
// that assumes an AWS role, the OIDC subject GitHub will mint for it (from
// its event and environment) must be one the role trusts, and the stack it
// previews or deploys must be the role's stack. Pull-request workflows may
// neither name an environment nor touch any stack but the pull-request one.

type workflow struct {
	On   yaml.Node      `yaml:"on"`
	Jobs map[string]job `yaml:"jobs"`
}

type job struct {
	Needs       any    `yaml:"needs"`
	Environment any    `yaml:"environment"`
	Steps       []step `yaml:"steps"`
}

type step struct {
	Uses string            `yaml:"uses"`
	With map[string]string `yaml:"with"`
}

func (j job) environment() string {
	switch v := j.Environment.(type) {
	case string:
		return v
	case map[string]any:
		name, _ := v["name"].(string)
		return name
	}
	return ""
}

func (j job) needs() []string { return stringOrList(j.Needs) }

// events lists a workflow's trigger names.
func (w workflow) events() []string {
	var out []string
	switch w.On.Kind {
	case yaml.ScalarNode:
		out = append(out, w.On.Value)
	case yaml.SequenceNode:
		for _, n := range w.On.Content {
			out = append(out, n.Value)
		}
	case yaml.MappingNode:
		for i := 0; i < len(w.On.Content); i += 2 {
			out = append(out, w.On.Content[i].Value)
		}
	}
	return out
}

var roleVarRe = regexp.MustCompile(`^\$\{\{ vars\.AWS_(PREVIEW|DEPLOY)_ROLE_ARN_([A-Z0-9_]+) \}\}$`)

func loadWorkflows(t *testing.T) map[string]workflow {
	t.Helper()
	files, err := filepath.Glob("../.github/workflows/*.yml")
	if err != nil || len(files) < 2 {
		t.Fatalf("workflows: %v %v", files, err)
	}
	out := map[string]workflow{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var w workflow
		if err := yaml.Unmarshal(raw, &w); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[filepath.Base(f)] = w
	}
	return out
}

func TestWorkflowJobsAssumeOnlyRolesThatTrustThem(t *testing.T) {
	m := mustRun(t)
	assumed := map[string]bool{}
	for file, w := range loadWorkflows(t) {
		events := w.events()
		prWorkflow := slices.Contains(events, "pull_request") || slices.Contains(events, "pull_request_target")
		if prWorkflow && len(events) != 1 {
			t.Errorf("%s: a pull-request workflow also runs on %v: keep pull requests in a workflow of their own", file, events)
		}
		for name, j := range w.Jobs {
			where := file + "/" + name
			env := j.environment()
			if prWorkflow && env != "" {
				t.Errorf("%s: a pull-request job names environment %q: its OIDC subject would be that environment's", where, env)
			}
			var role, stack string
			for _, s := range j.Steps {
				switch {
				case strings.HasPrefix(s.Uses, "aws-actions/configure-aws-credentials@"):
					mm := roleVarRe.FindStringSubmatch(s.With["role-to-assume"])
					if mm == nil {
						t.Errorf("%s: role-to-assume %q is not vars.AWS_<KIND>_ROLE_ARN_<STACK>", where, s.With["role-to-assume"])
						continue
					}
					role = roleName(&settings{RolePrefix: "promfed-ci"}, strings.ToLower(mm[1]), strings.ToLower(mm[2]))
				case strings.HasPrefix(s.Uses, "pulumi/actions@"):
					stack = strings.TrimPrefix(s.With["stack-name"], "organization/")
					if !strings.Contains(s.With["secrets-provider"], "}}-"+stack+"?") {
						t.Errorf("%s: secrets provider %q is not stack %s's key", where, s.With["secrets-provider"], stack)
					}
				}
			}
			if role == "" {
				if stack != "" {
					t.Errorf("%s: runs pulumi without assuming a role", where)
				}
				continue
			}
			assumed[role] = true
			if !strings.HasSuffix(role, "-"+stack) {
				t.Errorf("%s: assumes %s but runs stack %q", where, role, stack)
			}
			var sub string
			switch {
			case env != "":
				sub = "repo:" + testRepo + ":environment:" + env
			case prWorkflow:
				sub = "repo:" + testRepo + ":pull_request"
			default:
				sub = "repo:" + testRepo + ":ref:refs/heads/main"
			}
			if subs := trustSubjects(t, roleTrust(t, m, role)); !slices.Contains(subs, sub) {
				t.Errorf("%s: GitHub mints sub %s, but %s trusts only %v", where, sub, role, subs)
			}
			if prWorkflow && stack != "dev" {
				t.Errorf("%s: a pull request previews stack %q", where, stack)
			}
		}
	}
	for _, r := range []string{"promfed-ci-preview-dev", "promfed-ci-deploy-dev", "promfed-ci-preview-prod", "promfed-ci-deploy-prod"} {
		if !assumed[r] {
			t.Errorf("no workflow job assumes %s", r)
		}
	}
}

// The prod reviewer approves having seen the prod diff: the gated up job
// needs the prod preview job, which runs on main before it.
func TestProdIsPreviewedBeforeTheGatedDeploy(t *testing.T) {
	w := loadWorkflows(t)["deploy.yml"]
	up, preview := w.Jobs["prod"], w.Jobs["preview-prod"]
	if up.environment() != deployEnvironment("prod") || preview.environment() != previewEnvironment("prod") {
		t.Fatalf("environments: up %q, preview %q", up.environment(), preview.environment())
	}
	if !slices.Contains(up.needs(), "preview-prod") {
		t.Errorf("the prod up job needs %v, not the prod preview", up.needs())
	}
	if !slices.Contains(preview.needs(), "dev") {
		t.Errorf("the prod preview does not wait for dev: needs %v", preview.needs())
	}
	raw, err := os.ReadFile("../.github/workflows/deploy.yml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), "GITHUB_STEP_SUMMARY") || !strings.Contains(string(raw), "steps.preview.outputs.output") {
		t.Error("the prod preview's diff is not written to the run summary the approvers read")
	}
}
