package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/promfed/promfed/internal/cost"
)

// cmdCost prices a deployed stack: the resources of `pulumi stack export`
// (piped in, or run for -stack), with the same table and assumptions as
// `make cost`, which prices a stack file before it is deployed.
func cmdCost(ctx context.Context, args []string, e *env) error {
	fs := flag.NewFlagSet("cost", flag.ContinueOnError)
	fs.SetOutput(e.errOut)
	stack := fs.String("stack", "", "stack to export when standard input is a terminal")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	in, _, err := document(ctx, e, *stack, "stack", "export")
	if err != nil {
		return err
	}
	region, resources, err := exportedResources(in)
	if err != nil {
		return err
	}
	r, err := cost.Estimate(region, resources, cost.DefaultUsage())
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(e.out, r)
	}
	return r.Print(e.out)
}

// exportedResources reads a `pulumi stack export` document: the custom
// resources with their inputs, and the region of the default AWS provider.
func exportedResources(in io.Reader) (string, []cost.Resource, error) {
	var doc struct {
		Deployment struct {
			Resources []struct {
				URN      string         `json:"urn"`
				Type     string         `json:"type"`
				Custom   bool           `json:"custom"`
				Inputs   map[string]any `json:"inputs"`
				Provider string         `json:"provider"`
			} `json:"resources"`
		} `json:"deployment"`
	}
	if err := json.NewDecoder(in).Decode(&doc); err != nil {
		return "", nil, fmt.Errorf("reading the stack export (pipe `pulumi stack export`): %w", err)
	}
	region := ""
	regions := map[string]string{} // provider URN -> its region
	for _, r := range doc.Deployment.Resources {
		if r.Type == "pulumi:providers:aws" {
			regions[r.URN], _ = r.Inputs["region"].(string)
			if strings.HasPrefix(r.URN[strings.LastIndex(r.URN, "::")+2:], "default") {
				region = regions[r.URN]
			}
		}
	}
	var out []cost.Resource
	for _, r := range doc.Deployment.Resources {
		name := r.URN[strings.LastIndex(r.URN, "::")+2:]
		if r.Custom && !strings.HasPrefix(r.Type, "pulumi:") {
			// A provider reference is "<provider urn>::<provider id>".
			where := regions[r.Provider[:max(0, strings.LastIndex(r.Provider, "::"))]]
			out = append(out, cost.Resource{Type: r.Type, Name: name, Inputs: r.Inputs, Region: where})
		}
	}
	if len(out) == 0 {
		return "", nil, errors.New("the stack export holds no resources: has the stack been deployed?")
	}
	if region == "" {
		return "", nil, errors.New("the stack export names no region on its default AWS provider")
	}
	return region, out, nil
}
