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

// RuleFile is one of the user's rule files as a host receives it.
type RuleFile struct {
	Name    string `json:"name"`
	Content Unsafe `json:"content"`
}

// Rules are the user's rule files from the monitoring/ folder:
//
//	recording/*.yml        every secondary (federate:* aggregates)
//	shards/<shard>/*.yml   that shard's secondaries only
//	alerting/*.yml         the primary
//
// They travel in each host's variables, so editing one re-runs only the
// hosts that carry it.
type Rules struct {
	Recording []RuleFile
	Alerting  []RuleFile
	Shards    map[string][]RuleFile
	// Ignored are shard folders for shards this stack does not define (one
	// monitoring/ folder serves every stack): nothing deploys them.
	Ignored []string
}

var ruleFileRe = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*\.ya?ml$`)

// LoadRules reads dir (monitoring/). A missing folder means no user rules.
// A shard folder for a shard this stack does not define is listed in
// Ignored (it may belong to another stack; the program warns about it).
func LoadRules(dir string, shards []config.Shard) (*Rules, error) {
	r := &Rules{Shards: map[string][]RuleFile{}}
	var err error
	if r.Recording, err = readRuleDir(filepath.Join(dir, "recording"), "recording-"); err != nil {
		return nil, err
	}
	if r.Alerting, err = readRuleDir(filepath.Join(dir, "alerting"), "alerting-"); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(filepath.Join(dir, "shards"))
	if err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	known := map[string]bool{}
	for _, s := range shards {
		known[s.Name] = true
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if !known[e.Name()] {
			r.Ignored = append(r.Ignored, filepath.Join(dir, "shards", e.Name()))
			continue
		}
		files, err := readRuleDir(filepath.Join(dir, "shards", e.Name()), "shard-"+e.Name()+"-")
		if err != nil {
			return nil, err
		}
		r.Shards[e.Name()] = files
	}
	return r, nil
}

// readRuleDir reads the *.yml and *.yaml files of dir, sorted by name, and
// names them prefix+file on the host so the folders cannot collide.
func readRuleDir(dir, prefix string) ([]RuleFile, error) {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []RuleFile
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || (!strings.HasSuffix(name, ".yml") && !strings.HasSuffix(name, ".yaml")) {
			continue
		}
		if !ruleFileRe.MatchString(name) {
			return nil, fmt.Errorf("%s: rule file names use lowercase letters, digits, . _ and - only", filepath.Join(dir, name))
		}
		body, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		out = append(out, RuleFile{Name: prefix + name, Content: Unsafe(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// For returns the rule files host h carries (never nil, so the variable is
// always a list).
func (r *Rules) For(h config.Host) []RuleFile {
	out := []RuleFile{}
	if r == nil {
		return out
	}
	if h.Role == contract.RolePrimary {
		return append(out, r.Alerting...)
	}
	out = append(out, r.Recording...)
	return append(out, r.Shards[h.Shard]...)
}
