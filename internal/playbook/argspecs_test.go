package playbook_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/promfed/promfed/config"
	"github.com/promfed/promfed/internal/playbook"
	"github.com/promfed/promfed/internal/playbook/playbooktest"
)

// option is one entry of a role's meta/argument_specs.yml.
type option struct {
	Type     string            `yaml:"type"`
	Elements string            `yaml:"elements"`
	Required bool              `yaml:"required"`
	Options  map[string]option `yaml:"options"`
}

func roleSpecs(t *testing.T) map[string]map[string]option {
	t.Helper()
	files, err := filepath.Glob("../../ansible/roles/*/meta/argument_specs.yml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no argument specs found: %v", err)
	}
	out := map[string]map[string]option{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			ArgumentSpecs map[string]struct {
				Options map[string]option `yaml:"options"`
			} `yaml:"argument_specs"`
		}
		if err := yaml.Unmarshal(raw, &doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[filepath.Base(filepath.Dir(filepath.Dir(f)))] = doc.ArgumentSpecs["main"].Options
	}
	return out
}

// siteVars are the variables site.yml sets itself, per role.
func siteVars(t *testing.T) map[string]bool {
	t.Helper()
	raw, err := os.ReadFile("../../ansible/site.yml")
	if err != nil {
		t.Fatal(err)
	}
	var plays []struct {
		Roles []struct {
			Vars map[string]any `yaml:"vars"`
		} `yaml:"roles"`
	}
	if err := yaml.Unmarshal(raw, &plays); err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, p := range plays {
		for _, r := range p.Roles {
			for k := range r.Vars {
				out[k] = true
			}
		}
	}
	return out
}

// checkValue reports where a rendered value does not match its spec.
func checkValue(path string, v any, o option, problems *[]string) {
	bad := func(why string) { *problems = append(*problems, path+": "+why) }
	switch o.Type {
	case "str", "path":
		// Ansible's marker for unsafe text reads as a string.
		if m, ok := v.(map[string]any); ok && len(m) == 1 {
			v = m["__ansible_unsafe"]
		}
		if _, ok := v.(string); !ok {
			bad("want a string")
		}
	case "int":
		if f, ok := v.(float64); !ok || f != float64(int(f)) {
			bad("want an integer")
		}
	case "bool":
		if _, ok := v.(bool); !ok {
			bad("want a boolean")
		}
	case "dict":
		m, ok := v.(map[string]any)
		if !ok {
			if v != nil || o.Required {
				bad("want a dict")
			}
			return
		}
		checkDict(path, m, o.Options, problems)
	case "list":
		items, ok := v.([]any)
		if !ok {
			bad("want a list")
			return
		}
		for i, it := range items {
			checkValue(path+"["+itoa(i)+"]", it, option{Type: o.Elements, Options: o.Options}, problems)
		}
	case "raw", "":
	default:
		bad("spec type " + o.Type + " is not checked by this test")
	}
}

// checkDict: with declared sub-options, every key is declared and every
// required sub-option present (a dict without sub-options is free-form).
func checkDict(path string, m map[string]any, opts map[string]option, problems *[]string) {
	if len(opts) == 0 {
		return
	}
	for k, v := range m {
		o, ok := opts[k]
		if !ok {
			*problems = append(*problems, path+"."+k+": not declared in the argument spec")
			continue
		}
		checkValue(path+"."+k, v, o, problems)
	}
	for k, o := range opts {
		if _, ok := m[k]; o.Required && !ok {
			*problems = append(*problems, path+"."+k+": required but not sent")
		}
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

// The variables the Go code sends are exactly what the roles declare: every
// key is declared by a role with a matching type (sub-options included),
// and every required option of a role the host runs is sent. The same
// contract is enforced at run time by Ansible's argument validation; this
// catches a mismatch before any host exists.
func TestVarsMatchRoleArgumentSpecs(t *testing.T) {
	specs := roleSpecs(t)
	fromSite := siteVars(t)
	// Roles per host role, as ansible/site.yml runs them.
	roles := map[string][]string{
		"primary":   {"data_volume", "host_tls", "prometheus", "node_exporter", "alertmanager"},
		"secondary": {"data_volume", "host_tls", "prometheus", "node_exporter", "blackbox_exporter"},
	}
	cfg := playbooktest.LoadConfig(t, playbooktest.Shards)
	rules, err := playbook.LoadRules(playbooktest.MonitoringDir(t, "groups: []\n"), cfg.Shards)
	if err != nil {
		t.Fatal(err)
	}
	f := playbooktest.FleetFor(t, cfg, rules)
	f.Alerting = playbook.Alerting{SNSTopicArn: "arn:aws:sns:eu-west-1:123456789012:t", SNSRegion: "eu-west-1",
		WebhookURL: "https://hooks.example.com/x", SlackURL: "https://hooks.slack.com/x", SlackChannel: "#alerts", PagerDutyKey: strings.Repeat("a", 32)}
	for _, h := range f.Hosts {
		raw, err := f.VarsJSON(h.Name)
		if err != nil {
			t.Fatal(err)
		}
		var vars map[string]any
		if err := json.Unmarshal([]byte(raw), &vars); err != nil {
			t.Fatal(err)
		}
		// The host adds its secrets, read from SSM, as unsafe text.
		secrets, err := f.Secrets(h.Name)
		if err != nil {
			t.Fatal(err)
		}
		for _, sec := range secrets {
			vars[sec.Var] = map[string]any{"__ansible_unsafe": sec.Value}
		}
		declared := map[string]option{}
		for _, r := range roles[string(h.Role)] {
			spec, ok := specs[r]
			if !ok {
				t.Fatalf("role %s has no argument spec", r)
			}
			for k, o := range spec {
				declared[k] = o
				if _, sent := vars[k]; o.Required && !sent && !fromSite[k] {
					t.Errorf("%s: role %s requires %s, which the Go code does not send", h.Name, r, k)
				}
			}
		}
		var problems []string
		keys := make([]string, 0, len(vars))
		for k := range vars {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			o, ok := declared[k]
			if !ok {
				problems = append(problems, k+": sent, but no role of a "+string(h.Role)+" declares it")
				continue
			}
			checkValue(k, vars[k], o, &problems)
		}
		for _, p := range problems {
			t.Errorf("%s: %s", h.Name, p)
		}
	}
}

// The documented examples follow the same specs, so they stay accurate.
func TestExamplesMatchRoleArgumentSpecs(t *testing.T) {
	specs := roleSpecs(t)
	for file, role := range map[string]string{"vars-primary.json": "primary", "vars-secondary.json": "secondary"} {
		raw, err := os.ReadFile("../../ansible/examples/" + file)
		if err != nil {
			t.Fatal(err)
		}
		var vars map[string]any
		if err := json.Unmarshal(raw, &vars); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		roles := map[string][]string{
			"primary":   {"data_volume", "host_tls", "prometheus", "node_exporter", "alertmanager"},
			"secondary": {"data_volume", "host_tls", "prometheus", "node_exporter", "blackbox_exporter"},
		}[role]
		declared := map[string]option{}
		for _, r := range roles {
			for k, o := range specs[r] {
				declared[k] = o
			}
		}
		var problems []string
		for k, v := range vars {
			o, ok := declared[k]
			if !ok {
				problems = append(problems, k+": not declared")
				continue
			}
			checkValue(k, v, o, &problems)
		}
		sort.Strings(problems)
		for _, p := range problems {
			t.Errorf("%s: %s", file, p)
		}
	}
}

// Every probe module config accepts (and the endpoint probe's) is defined
// by the blackbox_exporter role, so a valid shard never names a missing one.
func TestProbeModulesExistInTheRole(t *testing.T) {
	raw, err := os.ReadFile("../../ansible/roles/blackbox_exporter/templates/blackbox.yml.j2")
	if err != nil {
		t.Fatal(err)
	}
	defined := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^ {2}([a-z0-9_]+):\s*$`).FindAllStringSubmatch(string(raw), -1) {
		defined[m[1]] = true
	}
	for _, m := range append([]string{"https_auth_required"}, config.ProbeModules...) {
		if !defined[m] {
			t.Errorf("module %s is not defined in blackbox.yml.j2 (defined: %v)", m, defined)
		}
	}
}
