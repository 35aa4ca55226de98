package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	"github.com/promfed/promfed/internal/stackoutput"
)

// pulumiCLI runs the Pulumi CLI for one stack (the selected one when
// stack is empty).
type pulumiCLI struct {
	e     *env
	stack string
}

func (p pulumiCLI) argv(args []string) (string, []string) {
	bin := p.e.getenv("PROMFED_PULUMI")
	if bin == "" {
		bin = "pulumi"
	}
	if p.stack != "" {
		args = append(args, "--stack", p.stack)
	}
	return bin, append(args, "--non-interactive")
}

// output runs pulumi and returns its standard output; a failure carries
// what it printed on standard error.
func (p pulumiCLI) output(ctx context.Context, args ...string) ([]byte, error) {
	bin, argv := p.argv(args)
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, argv...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("pulumi %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// stream runs pulumi with its output on the operator's terminal (standard
// error when standard output is kept for -json).
func (p pulumiCLI) stream(ctx context.Context, toErr bool, args ...string) error {
	bin, argv := p.argv(args)
	cmd := exec.CommandContext(ctx, bin, argv...)
	cmd.Stdout, cmd.Stderr = p.e.out, p.e.errOut
	if toErr {
		cmd.Stdout = p.e.errOut
	}
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("pulumi %s: %w", strings.Join(args, " "), err)
	}
	return nil
}

// configObject decodes a structured config value of the promfed namespace.
func (p pulumiCLI) configObject(ctx context.Context, key string, into any) error {
	out, err := p.output(ctx, "config", "get", "promfed:"+key, "--json")
	if err != nil {
		return err
	}
	var v struct {
		ObjectValue json.RawMessage `json:"objectValue"`
	}
	if err := json.Unmarshal(out, &v); err != nil {
		return fmt.Errorf("pulumi config get promfed:%s: %w", key, err)
	}
	if len(v.ObjectValue) == 0 || string(v.ObjectValue) == "null" {
		return nil
	}
	if err := json.Unmarshal(v.ObjectValue, into); err != nil {
		return fmt.Errorf("promfed:%s: %w", key, err)
	}
	return nil
}

func (p pulumiCLI) setPath(ctx context.Context, path, value string) error {
	_, err := p.output(ctx, "config", "set", "--path", "promfed:"+path, value)
	return err
}

// document is standard input when it is a pipe or a file, else what
// pulumi prints for args (so that an interactive ssh keeps the terminal).
// piped says which.
func document(ctx context.Context, e *env, stack string, args ...string) (in io.Reader, piped bool, err error) {
	if f, ok := e.in.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			out, err := pulumiCLI{e: e, stack: stack}.output(ctx, args...)
			if err != nil {
				return nil, false, err
			}
			return bytes.NewReader(out), false, nil
		}
	}
	return e.in, true, nil
}

// loadOutputs reads the stack outputs (`pulumi stack output --json`).
func loadOutputs(ctx context.Context, e *env, stack string) (*stackoutput.Outputs, bool, error) {
	in, piped, err := document(ctx, e, stack, "stack", "output", "--json")
	if err != nil {
		return nil, false, err
	}
	o, err := readOutputs(in)
	return o, piped, err
}
