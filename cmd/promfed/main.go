// Command promfed is the operator's tool for a running stack.
//
//	promfed status [-stack S] [-url URL] [-ca FILE] [-json]
//	promfed ssh [-stack S] HOST [-- COMMAND...]
//	promfed snapshot [-stack S] [-json] [-no-wait] HOST
//	promfed restore [-stack S] [-no-preview] [-json] HOST SNAPSHOT
//	promfed scale [-stack S] [-no-preview] [-json] SHARD N
//	promfed cost [-stack S] [-json]
//
// The first three read the stack outputs from `pulumi stack output --json`,
// run for -stack, or piped on standard input.
//
// status reads the stack outputs (hosts, shards) and asks the primary's
// Prometheus API (the endpoint by default) for each shard's targets up and
// known, each secondary's federation lag and the alerts firing. The web
// password comes from PROMFED_WEB_PASSWORD (the user from PROMFED_WEB_USER,
// default promfed), never from the command line.
//
// ssh logs in to a host through the bastion with both host keys pinned from
// the outputs, as the provisioning does.
//
// snapshot takes an EBS snapshot of a host's data volume (AWS credentials
// from the usual chain) and waits for it to complete.
//
// cost prices the deployed stack's resources (`pulumi stack export`) a
// month, from the price table of internal/cost.
//
// restore and scale change the stack's configuration with the Pulumi CLI
// (restoreSnapshots, a shard's secondaries) and run `pulumi preview`; when
// the preview fails, the change is undone. The program itself validates the
// new value, with the same rules as `pulumi up`.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/promfed/promfed/internal/stackoutput"
)

const usage = `usage: promfed status [-stack S] [-url URL] [-ca FILE] [-json]
       promfed ssh [-stack S] HOST [-- COMMAND...]
       promfed snapshot [-stack S] [-json] [-no-wait] HOST
       promfed restore [-stack S] [-no-preview] [-json] HOST SNAPSHOT
       promfed scale [-stack S] [-no-preview] [-json] SHARD N
       promfed cost [-stack S] [-json]
status, ssh and snapshot read "pulumi stack output --json" from standard input
when it is piped, else run it; restore and scale run the pulumi CLI
(PROMFED_PULUMI names another binary)`

func main() {
	e := &env{in: os.Stdin, out: os.Stdout, errOut: os.Stderr, getenv: os.Getenv, ec2: newEC2}
	if err := run(context.Background(), os.Args[1:], e); err != nil {
		fmt.Fprintln(os.Stderr, "promfed:", err)
		os.Exit(1)
	}
}

// env is what a command reaches outside the process; tests replace it.
type env struct {
	in          io.Reader
	out, errOut io.Writer
	getenv      func(string) string
	ec2         func(ctx context.Context, region string) (ec2API, error)
}

func run(ctx context.Context, args []string, e *env) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	switch args[0] {
	case "status":
		return cmdStatus(ctx, args[1:], e)
	case "ssh":
		return cmdSSH(ctx, args[1:], e)
	case "snapshot":
		return cmdSnapshot(ctx, args[1:], e)
	case "restore":
		return cmdRestore(ctx, args[1:], e)
	case "scale":
		return cmdScale(ctx, args[1:], e)
	case "cost":
		return cmdCost(ctx, args[1:], e)
	}
	return fmt.Errorf("unknown command %q\n%s", args[0], usage)
}

func readOutputs(in io.Reader) (*stackoutput.Outputs, error) {
	o, err := stackoutput.Read(in)
	if err != nil {
		return nil, err
	}
	if len(o.Hosts) == 0 || o.URL == "" {
		return nil, errors.New("stack outputs lack url or hosts: is this a promfed stack after `pulumi up`?")
	}
	return o, nil
}

// hostOf is the named host, or an error that lists the stack's hosts.
func hostOf(o *stackoutput.Outputs, cmd, name string) (stackoutput.Host, error) {
	h, ok := o.Hosts[name]
	if !ok {
		return h, fmt.Errorf("%s: %q is not a host of this stack: use one of %s", cmd, name, strings.Join(o.HostNames(), ", "))
	}
	return h, nil
}
