package main

import (
	"context"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/promfed/promfed/internal/stackoutput"
)

func cmdSSH(ctx context.Context, args []string, e *env) error {
	fs := flag.NewFlagSet("ssh", flag.ContinueOnError)
	fs.SetOutput(e.errOut)
	stack := fs.String("stack", "", "stack whose outputs to read when standard input is a terminal")
	if err := fs.Parse(args); err != nil {
		return err
	}
	args = fs.Args()
	if len(args) < 1 {
		return errors.New("ssh: name a host: " + usage)
	}
	o, piped, err := loadOutputs(ctx, e, *stack)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "promfed-ssh-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	argv, err := sshCommand(o, args[0], filepath.Join(dir, "known_hosts"), trimDashes(args[1:]))
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)

	// Piped standard input was the outputs document: the remote command
	// gets none. From a terminal, the session is interactive.
	cmd.Stdout, cmd.Stderr = e.out, e.errOut
	if !piped {
		cmd.Stdin = e.in
	}
	return cmd.Run()
}

func trimDashes(a []string) []string {
	if len(a) > 0 && a[0] == "--" {
		return a[1:]
	}
	return a
}

// sshCommand is the ssh command line that reaches host through the
// bastion, with a known_hosts file (written to knownHosts) that pins both.
func sshCommand(o *stackoutput.Outputs, name, knownHosts string, command []string) ([]string, error) {
	h, err := hostOf(o, "ssh", name)
	if err != nil {
		return nil, err
	}
	pins, err := o.KnownHosts()
	if err != nil {
		return nil, errors.New("ssh: " + err.Error())
	}
	if err := os.WriteFile(knownHosts, []byte(pins), 0o600); err != nil {
		return nil, err
	}
	argv := append([]string{"ssh"}, o.SSHOptions(knownHosts)...)
	argv = append(argv, o.SSHUser+"@"+h.PrivateIP)
	return append(argv, command...), nil
}
