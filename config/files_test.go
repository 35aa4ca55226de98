package config

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// Pulumi.yaml declares every key with the table's type, description,
// secrecy and default, so `pulumi config` and the program agree (the CLI's
// own validation of the stack files runs in test/backend).
func TestPulumiYamlMatchesKeyTable(t *testing.T) {
	raw, err := os.ReadFile("../Pulumi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Config map[string]struct {
			Type  string `yaml:"type"`
			Items struct {
				Type string `yaml:"type"`
			} `yaml:"items"`
			Description string `yaml:"description"`
			Secret      bool   `yaml:"secret"`
			Default     any    `yaml:"default"`
		} `yaml:"config"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Config) != len(Keys) {
		t.Errorf("Pulumi.yaml declares %d keys, the table has %d", len(doc.Config), len(Keys))
	}
	for _, k := range Keys {
		d, ok := doc.Config[k.Name]
		if !ok {
			t.Errorf("Pulumi.yaml lacks %s", k.Name)
			continue
		}
		// The CLI insists that a key declared secret is encrypted even when
		// only its default applies, so optional secrets are not declared
		// secret there; Load still refuses them in plain text.
		wantType, wantItems := string(k.Kind), ""
		switch k.Kind {
		case KindList:
			wantItems = "string"
		case KindObjects:
			wantType, wantItems = "array", "object"
		}
		if d.Items.Type != wantItems {
			t.Errorf("Pulumi.yaml %s: items type %q, want %q", k.Name, d.Items.Type, wantItems)
		}
		if d.Type != wantType || d.Description != k.Description || d.Secret != (k.Secret && Required[k.Name]) {
			t.Errorf("Pulumi.yaml %s: type %q secret %v description %q differ from the table", k.Name, d.Type, d.Secret, d.Description)
		}
		if Required[k.Name] != (d.Default == nil) {
			t.Errorf("Pulumi.yaml %s: default %v, required %v", k.Name, d.Default, Required[k.Name])
		}
		if d.Default != nil {
			got := fmt.Sprint(d.Default)
			if k.Kind == KindList || k.Kind == KindObjects {
				b, _ := json.Marshal(d.Default)
				got = string(b)
			}
			if got != k.Default {
				t.Errorf("Pulumi.yaml %s default %q, table %q", k.Name, got, k.Default)
			}
		}
	}
}

// The README's configuration table lists every key with its default.
func TestReadmeDocumentsEveryKey(t *testing.T) {
	raw, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	for _, k := range Keys {
		def := "(required)"
		if !Required[k.Name] {
			def = fmt.Sprintf("%#q", k.Default)
			if k.Default == "" {
				def = "(empty)"
			}
		}
		row := fmt.Sprintf("| %#q | %s | %s |", k.Name, k.Kind, def)
		if !strings.Contains(readme, row) {
			t.Errorf("README lacks the row starting %q", row)
		}
	}
}
