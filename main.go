// Command promfed is the Pulumi program that stands up a Prometheus
// federation on AWS. This file is its table of contents: configuration, the
// network and firewall, the hosts, the public endpoint, then provisioning.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/promfed/promfed/config"
)

func main() {
	// `go run . plan -stack dev` prints the offline plan (plan.go), `go run
	// . cost -stack dev` its monthly cost (cost.go); Pulumi runs the program
	// without arguments.
	if len(os.Args) > 1 && os.Args[1] == "plan" {
		os.Exit(planMain(os.Args[2:]))
	}
	if len(os.Args) > 1 && os.Args[1] == "cost" {
		os.Exit(costMain(os.Args[2:]))
	}
	pulumi.Run(program)
}

// program validates all configuration before registering any resource, so
// bad input fails with every problem listed and nothing half-created.
func program(ctx *pulumi.Context) error {
	region, _ := ctx.GetConfig("aws:region")
	cfg, err := config.Load(ctx.Project(), ctx.Stack(), region, pulumiSource{ctx})
	if err != nil {
		return err
	}
	st, err := build(ctx, cfg)
	if err != nil {
		return fmt.Errorf("building stack %s: %w", cfg.Stack, err)
	}
	st.export(ctx)
	return nil
}

// pulumiSource reads the project's keys from the stack configuration.
type pulumiSource struct{ ctx *pulumi.Context }

func (s pulumiSource) Get(key string) (string, bool) {
	return s.ctx.GetConfig(s.ctx.Project() + ":" + key)
}

// GetQualified reads a key of any namespace (a provider's setting).
func (s pulumiSource) GetQualified(key string) (string, bool) { return s.ctx.GetConfig(key) }

// IsQualifiedSecret tells whether a key of any namespace is encrypted.
func (s pulumiSource) IsQualifiedSecret(key string) bool { return s.ctx.IsConfigSecret(key) }

// SetKeys lists the project's keys that the stack sets. The CLI hands the
// program its configuration in PULUMI_CONFIG (the SDK builds the context's
// configuration from it); the context itself cannot list keys.
func (s pulumiSource) SetKeys() []string {
	var all map[string]string
	if err := json.Unmarshal([]byte(os.Getenv(pulumi.EnvConfig)), &all); err != nil {
		return nil
	}
	var out []string
	for k := range all {
		if name, ok := strings.CutPrefix(k, s.ctx.Project()+":"); ok {
			out = append(out, name)
		}
	}
	return out
}

func (s pulumiSource) IsSecret(key string) bool {
	return s.ctx.IsConfigSecret(s.ctx.Project() + ":" + key)
}
