package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strconv"

	"github.com/promfed/promfed/config"
)

// EditResult is what restore and scale print with -json.
type EditResult struct {
	Key       string `json:"key"`
	Old       string `json:"old"`
	New       string `json:"new"`
	Previewed bool   `json:"previewed"`
}

// editFlags are the flags restore and scale share.
type editFlags struct {
	fs        *flag.FlagSet
	stack     *string
	noPreview *bool
	asJSON    *bool
}

func newEditFlags(name string, e *env) editFlags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.errOut)
	return editFlags{fs: fs,
		stack:     fs.String("stack", "", "stack to change (default: the selected stack)"),
		noPreview: fs.Bool("no-preview", false, "only change the configuration (a pull request's preview checks it)"),
		asJSON:    fs.Bool("json", false, "print JSON (the preview goes to standard error)"),
	}
}

// edit is one configuration change: set applies it, undo puts the old value
// back when the preview fails.
type edit struct {
	key, old, new string
	set, undo     func(context.Context) error
	expect        string
}

// apply sets the change and previews it; a failed preview undoes it, so a
// refused value never stays in the stack file.
func (f editFlags) apply(ctx context.Context, e *env, p pulumiCLI, ed edit) error {
	res := EditResult{Key: ed.key, Old: ed.old, New: ed.new}
	if err := ed.set(ctx); err != nil {
		return err
	}
	fmt.Fprintf(e.errOut, "%s: %s -> %s\n", ed.key, ed.old, ed.new)
	if !*f.noPreview {
		fmt.Fprintf(e.errOut, "previewing (expect %s) ...\n", ed.expect)
		if err := p.stream(ctx, *f.asJSON, "preview", "--diff"); err != nil {
			if uerr := ed.undo(ctx); uerr != nil {
				return fmt.Errorf("%w; undoing the change failed too: %w", err, uerr)
			}
			return fmt.Errorf("%w: the preview failed, %s is back to %s", err, ed.key, ed.old)
		}
		res.Previewed = true
	}
	if *f.asJSON {
		return writeJSON(e.out, res)
	}
	fmt.Fprintf(e.out, "%s is now %s; `pulumi up` applies it\n", ed.key, ed.new)
	return nil
}

// restoreEntry is one item of restoreSnapshots.
type restoreEntry struct {
	Host     string `json:"host"`
	Snapshot string `json:"snapshot"`
}

func cmdRestore(ctx context.Context, args []string, e *env) error {
	f := newEditFlags("restore", e)
	if err := f.fs.Parse(args); err != nil {
		return err
	}
	if f.fs.NArg() != 2 {
		return errors.New("restore: name a host and a snapshot: " + usage)
	}
	host, snap := f.fs.Arg(0), f.fs.Arg(1)
	if !config.ValidSnapshotID(snap) {
		return fmt.Errorf("restore: %q is not an EBS snapshot id (snap- followed by 8 or 17 hex digits)", snap)
	}
	p := pulumiCLI{e: e, stack: *f.stack}
	var entries []restoreEntry
	if err := p.configObject(ctx, "restoreSnapshots", &entries); err != nil {
		return err
	}
	i := slices.IndexFunc(entries, func(r restoreEntry) bool { return r.Host == host })
	ed := edit{new: snap, expect: host + "'s data volume, its attachment, instance and -playbook replaced; nothing else"}
	if i >= 0 {
		ed.old = entries[i].Snapshot
		if ed.old == snap {
			return fmt.Errorf("restore: restoreSnapshots already restores %s from %s", host, snap)
		}
		path := fmt.Sprintf("restoreSnapshots[%d].snapshot", i)
		ed.key = path
		ed.set = func(ctx context.Context) error { return p.setPath(ctx, path, snap) }
		ed.undo = func(ctx context.Context) error { return p.setPath(ctx, path, ed.old) }
	} else {
		i = len(entries)
		ed.old, ed.key = "(none)", fmt.Sprintf("restoreSnapshots[%d]", i)
		ed.set = func(ctx context.Context) error {
			if err := p.setPath(ctx, fmt.Sprintf("restoreSnapshots[%d].host", i), host); err != nil {
				return err
			}
			return p.setPath(ctx, fmt.Sprintf("restoreSnapshots[%d].snapshot", i), snap)
		}
		ed.undo = func(ctx context.Context) error {
			_, err := p.output(ctx, "config", "rm", "--path", fmt.Sprintf("promfed:restoreSnapshots[%d]", i))
			return err
		}
		ed.new = host + " from " + snap
	}
	return f.apply(ctx, e, p, ed)
}

// shardEntry is the part of a shards item scale reads.
type shardEntry struct {
	Name        string `json:"name"`
	Secondaries *int   `json:"secondaries"`
}

func cmdScale(ctx context.Context, args []string, e *env) error {
	f := newEditFlags("scale", e)
	if err := f.fs.Parse(args); err != nil {
		return err
	}
	if f.fs.NArg() != 2 {
		return errors.New("scale: name a shard and a number of secondaries: " + usage)
	}
	name := f.fs.Arg(0)
	n, err := strconv.Atoi(f.fs.Arg(1))
	if err != nil || n < 1 {
		return fmt.Errorf("scale: %q is not a number of secondaries (a whole number, at least 1)", f.fs.Arg(1))
	}
	p := pulumiCLI{e: e, stack: *f.stack}
	var shards []shardEntry
	if err := p.configObject(ctx, "shards", &shards); err != nil {
		return err
	}
	i := slices.IndexFunc(shards, func(s shardEntry) bool { return s.Name == name })
	if i < 0 {
		names := make([]string, len(shards))
		for j, s := range shards {
			names[j] = s.Name
		}
		return fmt.Errorf("scale: the stack has no shard %q: its shards are %v", name, names)
	}
	old := 1 // the shards key's default
	if shards[i].Secondaries != nil {
		old = *shards[i].Secondaries
	}
	if old == n {
		return fmt.Errorf("scale: shard %s already has %d secondaries", name, n)
	}
	path := fmt.Sprintf("shards[%d].secondaries", i)
	expect := "new secondaries created and the primaries' -playbook replaced"
	if n < old {
		expect = fmt.Sprintf("%d secondaries of %s deleted, with their data volumes", old-n, name)
	}
	return f.apply(ctx, e, p, edit{
		key: path, old: strconv.Itoa(old), new: strconv.Itoa(n), expect: expect,
		set:  func(ctx context.Context) error { return p.setPath(ctx, path, strconv.Itoa(n)) },
		undo: func(ctx context.Context) error { return p.setPath(ctx, path, strconv.Itoa(old)) },
	})
}
