package main

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// fakeEnv is a machine with AWS credentials in the environment, the AWS and
// Pulumi CLIs, a complete dev stack and a public address inside adminCidrs.
func fakeEnv() (env, map[string]string) {
	vars := map[string]string{"AWS_PROFILE": "dev", "HOME": "/home/op"}
	pulumiJSON := `{"promfed:webPassword":{"secret":true},"promfed:hostKeySeed":{"secret":true},` +
		`"promfed:adminCidrs":{"value":"[\"203.0.113.0/24\"]","objectValue":["203.0.113.0/24"],"secret":false}}`
	return env{
		getenv:   func(k string) string { return vars[k] },
		exists:   func(string) bool { return false },
		lookPath: func(name string) (string, error) { return "/usr/bin/" + name, nil },
		run: func(name string, args ...string) ([]byte, error) {
			switch name + " " + strings.Join(args, " ") {
			case "aws sts get-caller-identity --output json":
				return []byte(`{"Account":"123456789012","Arn":"arn:aws:sts::123456789012:assumed-role/deploy/op"}`), nil
			case "pulumi config --stack dev --json":
				return []byte(pulumiJSON), nil
			}
			return nil, errors.New("unexpected command " + name)
		},
		publicIP: func() (netip.Addr, error) { return netip.MustParseAddr("203.0.113.7"), nil },
	}, vars
}

func TestReady(t *testing.T) {
	e, _ := fakeEnv()
	problems, notes := check(e, "dev", "up")
	if len(problems) != 0 {
		t.Fatalf("problems: %v", problems)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "assumed-role/deploy/op") {
		t.Errorf("notes %v", notes)
	}
}

func TestEachProblemSaysHowToFixIt(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(e *env, vars map[string]string)
		forCm string
		want  string
	}{
		{"no credentials", func(e *env, vars map[string]string) { delete(vars, "AWS_PROFILE") }, "up",
			"no AWS credentials found"},
		{"expired credentials", func(e *env, vars map[string]string) {
			run := e.run
			e.run = func(name string, args ...string) ([]byte, error) {
				if name == "aws" {
					return nil, errors.New("exit status 255: ExpiredToken")
				}
				return run(name, args...)
			}
		}, "up", "AWS credentials do not work (aws sts get-caller-identity: exit status 255: ExpiredToken)"},
		{"secret missing", func(e *env, vars map[string]string) {
			run := e.run
			e.run = func(name string, args ...string) ([]byte, error) {
				if name == "pulumi" {
					return []byte(`{"promfed:webPassword":{"secret":true},"promfed:adminCidrs":{"value":"[\"203.0.113.0/24\"]"}}`), nil
				}
				return run(name, args...)
			}
		}, "up", "stack dev lacks the secret hostKeySeed: pulumi config set --secret hostKeySeed <value> --stack dev"},
		{"secret in plain text", func(e *env, vars map[string]string) {
			run := e.run
			e.run = func(name string, args ...string) ([]byte, error) {
				if name == "pulumi" {
					return []byte(`{"promfed:webPassword":{"value":"x","secret":false},"promfed:hostKeySeed":{"secret":true}}`), nil
				}
				return run(name, args...)
			}
		}, "preview", "stack dev holds webPassword in plain text"},
		{"outside adminCidrs", func(e *env, vars map[string]string) {
			e.publicIP = func() (netip.Addr, error) { return netip.MustParseAddr("198.51.100.9"), nil }
		}, "up", "this machine's public address 198.51.100.9 is outside adminCidrs [203.0.113.0/24], so provisioning could not reach the bastion: pulumi config set --path 'adminCidrs[1]' 198.51.100.9/32 --stack dev"},
		{"no stack", func(e *env, vars map[string]string) {
			run := e.run
			e.run = func(name string, args ...string) ([]byte, error) {
				if name == "pulumi" {
					return nil, errors.New("no stack named 'dev' found")
				}
				return run(name, args...)
			}
		}, "up", "cannot read the configuration of stack dev (no stack named 'dev' found): create it with `make stack-select STACK=dev`"},
		{"no pulumi", func(e *env, vars map[string]string) {
			e.lookPath = func(name string) (string, error) {
				if name == "pulumi" {
					return "", errors.New("not found")
				}
				return "/usr/bin/" + name, nil
			}
		}, "up", "the Pulumi CLI is not installed"},
		{"bad command", func(e *env, vars map[string]string) {}, "destroy", `-for "destroy": use preview or up`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, vars := fakeEnv()
			tc.edit(&e, vars)
			problems, _ := check(e, "dev", tc.forCm)
			if len(problems) != 1 || !strings.Contains(problems[0], tc.want) {
				t.Fatalf("want one problem saying %q, got %v", tc.want, problems)
			}
		})
	}
}

// preview does not provision, so it does not need the bastion's allow-list;
// an unknown public address is a note, not a failure.
func TestAdminCidrsOnlyForUp(t *testing.T) {
	e, _ := fakeEnv()
	e.publicIP = func() (netip.Addr, error) { return netip.MustParseAddr("198.51.100.9"), nil }
	if p, _ := check(e, "dev", "preview"); len(p) != 0 {
		t.Errorf("preview: %v", p)
	}
	e.publicIP = func() (netip.Addr, error) { return netip.Addr{}, errors.New("no network") }
	p, notes := check(e, "dev", "up")
	if len(p) != 0 || len(notes) != 2 || !strings.Contains(notes[1], "could not learn this machine's public address (no network)") {
		t.Errorf("problems %v notes %v", p, notes)
	}
}
