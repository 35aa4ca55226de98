// Command preflight checks, before `make preview` or `make up` starts Pulumi,
// what would otherwise fail minutes into a run: AWS credentials, the stack's
// required secrets, and (for up, which provisions over SSH through the
// bastion) whether this machine's public address is inside adminCidrs. Each
// problem says how to fix it.
//
//	go run ./cmd/preflight -stack dev -for up
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/promfed/promfed/config"
)

// env is what the checks read from the machine; tests replace it.
type env struct {
	getenv   func(string) string
	exists   func(path string) bool
	lookPath func(string) (string, error)
	// run runs a command and returns its standard output.
	run func(name string, args ...string) ([]byte, error)
	// publicIP returns this machine's address as the internet sees it.
	publicIP func() (netip.Addr, error)
}

func main() {
	stack := flag.String("stack", "dev", "stack to check")
	forCmd := flag.String("for", "up", "the command about to run: preview or up")
	flag.Parse()
	problems, notes := check(realEnv(), *stack, *forCmd)
	for _, n := range notes {
		fmt.Fprintln(os.Stderr, "preflight: note:", n)
	}
	if len(problems) > 0 {
		fmt.Fprintf(os.Stderr, "preflight: %d problem(s) before `pulumi %s --stack %s`:\n", len(problems), *forCmd, *stack)
		for _, p := range problems {
			fmt.Fprintln(os.Stderr, "  -", p)
		}
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "preflight: ready for pulumi %s --stack %s\n", *forCmd, *stack)
}

func realEnv() env {
	return env{
		getenv:   os.Getenv,
		exists:   func(p string) bool { _, err := os.Stat(p); return err == nil },
		lookPath: exec.LookPath,
		run: func(name string, args ...string) ([]byte, error) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, name, args...).Output()
			var ee *exec.ExitError
			if errors.As(err, &ee) && len(ee.Stderr) > 0 {
				err = fmt.Errorf("%w: %s", err, strings.TrimSpace(string(ee.Stderr)))
			}
			return out, err
		},
		publicIP: func() (netip.Addr, error) {
			// AWS's own echo service: the address the bastion will see.
			c := http.Client{Timeout: 5 * time.Second}
			resp, err := c.Get("https://checkip.amazonaws.com")
			if err != nil {
				return netip.Addr{}, err
			}
			defer func() { _ = resp.Body.Close() }()
			b, err := io.ReadAll(io.LimitReader(resp.Body, 64))
			if err != nil {
				return netip.Addr{}, err
			}
			return netip.ParseAddr(strings.TrimSpace(string(b)))
		},
	}
}

// check returns the problems (each with its fix) and notes.
func check(e env, stack, forCmd string) (problems, notes []string) {
	if forCmd != "up" && forCmd != "preview" {
		return []string{fmt.Sprintf("-for %q: use preview or up", forCmd)}, nil
	}
	problems = append(problems, checkAWS(e, &notes)...)
	cfg, err := stackConfig(e, stack)
	if err != nil {
		return append(problems, err.Error()), notes
	}
	problems = append(problems, checkSecrets(cfg, stack)...)
	if forCmd == "up" {
		problems = append(problems, checkAdminCidrs(e, cfg, stack, &notes)...)
	}
	return problems, notes
}

// checkAWS looks for credentials the AWS provider would find, and when the
// AWS CLI is there, asks STS who they belong to.
func checkAWS(e env, notes *[]string) []string {
	home := e.getenv("HOME")
	found := (e.getenv("AWS_ACCESS_KEY_ID") != "" && e.getenv("AWS_SECRET_ACCESS_KEY") != "") ||
		e.getenv("AWS_PROFILE") != "" || e.getenv("AWS_WEB_IDENTITY_TOKEN_FILE") != "" ||
		e.getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") != "" || e.getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI") != "" ||
		(home != "" && (e.exists(filepath.Join(home, ".aws", "credentials")) || e.exists(filepath.Join(home, ".aws", "config"))))
	if !found {
		return []string{"no AWS credentials found (no AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, web identity, or ~/.aws/credentials): " +
			"run `aws configure` or `aws sso login --profile <p>` and export AWS_PROFILE=<p>"}
	}
	if _, err := e.lookPath("aws"); err != nil {
		*notes = append(*notes, "credentials are configured but not verified (the AWS CLI is not installed)")
		return nil
	}
	out, err := e.run("aws", "sts", "get-caller-identity", "--output", "json")
	if err != nil {
		return []string{fmt.Sprintf("AWS credentials do not work (aws sts get-caller-identity: %v): refresh them, for example `aws sso login`", err)}
	}
	var id struct{ Account, Arn string }
	if json.Unmarshal(out, &id) == nil && id.Arn != "" {
		*notes = append(*notes, fmt.Sprintf("deploying as %s (account %s)", id.Arn, id.Account))
	}
	return nil
}

// configValue is one entry of `pulumi config --json`.
type configValue struct {
	Value       string `json:"value"`
	ObjectValue any    `json:"objectValue"`
	Secret      bool   `json:"secret"`
}

func stackConfig(e env, stack string) (map[string]configValue, error) {
	if _, err := e.lookPath("pulumi"); err != nil {
		return nil, errors.New("the Pulumi CLI is not installed: see the README's prerequisites (v3.276 or newer)")
	}
	out, err := e.run("pulumi", "config", "--stack", stack, "--json")
	if err != nil {
		return nil, fmt.Errorf("cannot read the configuration of stack %s (%w): create it with `make stack-select STACK=%s`, and check the backend (BACKEND=...) and PULUMI_CONFIG_PASSPHRASE for a local one", stack, err, stack)
	}
	cfg := map[string]configValue{}
	if err := json.Unmarshal(out, &cfg); err != nil {
		return nil, fmt.Errorf("pulumi config --json for stack %s: %w", stack, err)
	}
	return cfg, nil
}

// checkSecrets: every required secret is set, and set as a secret.
func checkSecrets(cfg map[string]configValue, stack string) (out []string) {
	for _, k := range config.Keys {
		if !k.Secret || !config.Required[k.Name] {
			continue
		}
		v, ok := cfg["promfed:"+k.Name]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("stack %s lacks the secret %s: pulumi config set --secret %s <value> --stack %s (see the comments in Pulumi.%s.yaml)", stack, k.Name, k.Name, stack, stack))
		case !v.Secret:
			out = append(out, fmt.Sprintf("stack %s holds %s in plain text: pulumi config set --secret %s <value> --stack %s", stack, k.Name, k.Name, stack))
		}
	}
	return out
}

// checkAdminCidrs: provisioning reaches the hosts over SSH through the
// bastion, which admits only adminCidrs.
func checkAdminCidrs(e env, cfg map[string]configValue, stack string, notes *[]string) []string {
	var cidrs []netip.Prefix
	v := cfg["promfed:adminCidrs"]
	var items []string
	if b, err := json.Marshal(v.ObjectValue); err == nil && v.ObjectValue != nil {
		_ = json.Unmarshal(b, &items)
	} else if v.Value != "" {
		_ = json.Unmarshal([]byte(v.Value), &items)
	}
	for _, s := range items {
		if p, err := netip.ParsePrefix(strings.TrimSpace(s)); err == nil {
			cidrs = append(cidrs, p)
		}
	}
	if len(cidrs) == 0 {
		return []string{fmt.Sprintf("stack %s has no adminCidrs: pulumi config set --path 'adminCidrs[0]' <your public IP>/32 --stack %s", stack, stack)}
	}
	ip, err := e.publicIP()
	if err != nil {
		*notes = append(*notes, fmt.Sprintf("could not learn this machine's public address (%v); provisioning needs it inside adminCidrs", err))
		return nil
	}
	for _, p := range cidrs {
		if p.Contains(ip) {
			return nil
		}
	}
	return []string{fmt.Sprintf("this machine's public address %s is outside adminCidrs %v, so provisioning could not reach the bastion: "+
		"pulumi config set --path 'adminCidrs[%d]' %s/32 --stack %s (or run from an allowed network)", ip, items, len(items), ip, stack)}
}
