// The offline cost report: `make cost STACK=prod` (go run . cost -stack
// prod) prices the resources the offline plan finds for a stack file.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/promfed/promfed/internal/cost"
	"github.com/promfed/promfed/internal/testmocks"
)

func costMain(args []string) int {
	fs := flag.NewFlagSet("cost", flag.ContinueOnError)
	stack := fs.String("stack", "dev", "stack whose Pulumi.<stack>.yaml is priced")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := costReport(os.Stdout, ".", *stack, *asJSON); err != nil {
		fmt.Fprintln(os.Stderr, "cost:", err)
		return 1
	}
	return 0
}

func costReport(w io.Writer, dir, stack string, asJSON bool) error {
	m, values, err := offline(dir, stack)
	if err != nil {
		return err
	}
	r, err := cost.Estimate(values["aws:region"], costResources(m), cost.DefaultUsage())
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	fmt.Fprintf(w, "promfed cost for stack %q, from the offline plan of Pulumi.%s.yaml\n\n", stack, stack)
	return r.Print(w)
}

// costResources are the plan's resources as the estimate reads them.
func costResources(m *testmocks.Mocks) []cost.Resource {
	out := make([]cost.Resource, 0, len(m.Resources))
	for _, r := range m.Resources {
		inputs := map[string]any{}
		for k, v := range r.Inputs {
			inputs[string(k)] = testmocks.Value(v)
		}
		out = append(out, cost.Resource{Type: r.Type, Name: r.Name, Inputs: inputs, Region: m.ProviderRegion(r.Provider)})
	}
	return out
}
