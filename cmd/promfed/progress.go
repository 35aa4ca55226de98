package main

import (
	"fmt"
	"io"
	"time"
)

// progress reports a long wait: what is awaited, its latest state and the
// time so far. It writes a line when the state changes and otherwise at
// most every interval, so a log stays short and a terminal shows life.
type progress struct {
	w         io.Writer
	what      string
	interval  time.Duration
	now       func() time.Time
	start     time.Time
	lastState string
	lastLine  time.Time
}

func newProgress(w io.Writer, what string, now func() time.Time) *progress {
	t := now()
	return &progress{w: w, what: what, interval: 15 * time.Second, now: now, start: t, lastLine: t}
}

func (p *progress) update(state string) {
	t := p.now()
	if state == p.lastState && t.Sub(p.lastLine) < p.interval {
		return
	}
	p.lastState, p.lastLine = state, t
	fmt.Fprintf(p.w, "%s: %s (%s)\n", p.what, state, t.Sub(p.start).Round(time.Second))
}
