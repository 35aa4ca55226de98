package playbook

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/promfed/promfed/config"
	"github.com/promfed/promfed/internal/contract"
)

// RemoteWrite is the long-term store the writing hosts send to
// (ampRemoteWrite): which hosts write is config.AMP's decision.
type RemoteWrite struct {
	AMP *config.AMP
	// URL is the workspace's remote_write URL, known once it exists.
	URL    string
	Region string
}

// AMP's recommended queue for remote_write (AMP user guide, "Ingest
// metrics... remote write configuration").
var ampQueue = map[string]any{"capacity": 2500, "max_shards": 200, "max_samples_per_send": 1000}

// remoteWrite is host h's remote_write entries: one for the workspace when
// h writes, none otherwise. AMP keeps one replica of a series per cluster
// label (its HA deduplication), so the labels that tell replicas apart are
// dropped and replaced by cluster and __replica__.
func (f *Fleet) remoteWrite(h config.Host) []map[string]any {
	rw := f.RemoteWrite
	if rw == nil || !rw.AMP.Writes(h) {
		return []map[string]any{}
	}
	var keep, cluster string
	var drop []map[string]any
	if rw.AMP.Mode == config.AMPRaw {
		// up always goes: AMP-side queries can tell a silent target from a
		// filtered one.
		keep, cluster = "up|(?:"+rw.AMP.Match+")", f.Stack+"-"+h.Shard
		drop = []map[string]any{{"regex": "prometheus", "action": "labeldrop"}}
	} else {
		// A federated aggregate keeps the secondary that made it in
		// "prometheus"; only a primary's own name goes.
		keep, cluster = rw.AMP.Match, f.Stack+"-primaries"
		drop = []map[string]any{
			{"source_labels": []string{"prometheus"}, "regex": strings.Join(config.Names(config.OfRole(f.Hosts, contract.RolePrimary)), "|"),
				"target_label": "prometheus", "replacement": "", "action": "replace"},
			{"regex": "replica", "action": "labeldrop"},
		}
	}
	relabel := append([]map[string]any{{"source_labels": []string{"__name__"}, "regex": keep, "action": "keep"}}, drop...)
	relabel = append(relabel,
		map[string]any{"target_label": "cluster", "replacement": cluster, "action": "replace"},
		map[string]any{"target_label": "__replica__", "replacement": h.Name, "action": "replace"})
	return []map[string]any{{
		"name": "amp", "url": rw.URL,
		"sigv4":                 map[string]any{"region": rw.Region},
		"queue_config":          ampQueue,
		"write_relabel_configs": relabel,
	}}
}

var recordRe = regexp.MustCompile(`(?m)^\s*-?\s*record:\s*["']?([a-zA-Z_:][a-zA-Z0-9_:]*)`)

// RecordedNames are the series names the stack's recording rules make:
// the role's federate.rules.yml and the user's recording and shard rules.
func RecordedNames(ansibleDir string, r *Rules) ([]string, error) {
	body, err := os.ReadFile(filepath.Join(ansibleDir, "roles", "prometheus", "files", "rules", "federate.rules.yml"))
	if err != nil {
		return nil, err
	}
	texts := []string{string(body)}
	if r != nil {
		for _, f := range r.Recording {
			texts = append(texts, string(f.Content))
		}
		for _, files := range r.Shards {
			for _, f := range files {
				texts = append(texts, string(f.Content))
			}
		}
	}
	seen := map[string]bool{}
	for _, t := range texts {
		for _, m := range recordRe.FindAllStringSubmatch(t, -1) {
			seen[m[1]] = true
		}
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}

// CheckAMPMatch refuses an aggregates selection that keeps none of the
// stack's recorded series: remote_write would send nothing.
func CheckAMPMatch(a *config.AMP, recorded []string) error {
	if a == nil || a.Mode != config.AMPAggregates {
		return nil
	}
	ok, err := a.MatchesAny(recorded)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("ampWriteMatch %q matches none of the stack's recorded series (%s): with ampRemoteWrite aggregates it would send nothing",
			a.Match, strings.Join(recorded, ", "))
	}
	return nil
}
