package dashboards

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The committed files are what the code generates: edit the Go, run
// `make dashboards`, commit both.
func TestCommittedDashboardsAreCurrent(t *testing.T) {
	all, err := All()
	if err != nil {
		t.Fatal(err)
	}
	committed, err := filepath.Glob("../../dashboards/*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(committed) != len(all) {
		t.Errorf("dashboards/ holds %d JSON files, the code makes %d", len(committed), len(all))
	}
	for _, d := range all {
		have, err := os.ReadFile(filepath.Join("..", "..", "dashboards", d.File))
		if err != nil || !bytes.Equal(have, d.JSON) {
			t.Errorf("dashboards/%s is stale (%v): run make dashboards", d.File, err)
		}
	}
}

// panel is what the checks read of a generated panel.
type panel struct {
	ID      int    `json:"id"`
	Type    string `json:"type"`
	Title   string `json:"title"`
	Targets []struct {
		Expr       string `json:"expr"`
		Datasource struct {
			UID string `json:"uid"`
		} `json:"datasource"`
	} `json:"targets"`
}

// Every panel queries the chosen data source; every dashboard has a unique
// uid, the variables the queries use, and the panels the issue asks for.
func TestEveryPanelQueriesTheEndpoint(t *testing.T) {
	all, err := All()
	if err != nil {
		t.Fatal(err)
	}
	uids := map[string]string{}
	titles := map[string][]string{}
	for _, d := range all {
		var doc struct {
			UID        string  `json:"uid"`
			Panels     []panel `json:"panels"`
			Templating struct {
				List []struct {
					Name string `json:"name"`
				} `json:"list"`
			} `json:"templating"`
		}
		if err := json.Unmarshal(d.JSON, &doc); err != nil {
			t.Fatalf("%s: %v", d.File, err)
		}
		if prev, dup := uids[doc.UID]; dup || doc.UID == "" {
			t.Errorf("%s: uid %q (also %s)", d.File, doc.UID, prev)
		}
		uids[doc.UID] = d.File
		var vars []string
		for _, v := range doc.Templating.List {
			vars = append(vars, v.Name)
		}
		if strings.Join(vars, ",") != "datasource,shard" {
			t.Errorf("%s: variables %v", d.File, vars)
		}
		for i, p := range doc.Panels {
			if p.ID != i+1 {
				t.Errorf("%s: panel %q has id %d, want %d (ids must be unique)", d.File, p.Title, p.ID, i+1)
			}
			if p.Type == "row" {
				continue
			}
			titles[d.File] = append(titles[d.File], p.Title)
			if len(p.Targets) == 0 {
				t.Errorf("%s: panel %q has no query", d.File, p.Title)
			}
			for _, q := range p.Targets {
				if strings.TrimSpace(q.Expr) == "" || q.Datasource.UID != "${datasource}" {
					t.Errorf("%s: panel %q: query %q on data source %q", d.File, p.Title, q.Expr, q.Datasource.UID)
				}
			}
		}
	}
	for file, want := range map[string][]string{
		"federation-overview.json": {"Shards", "Targets up by shard", "Federation lag", "Federation failures", "Samples federated per secondary"},
		"host-health.json":         {"CPU utilization", "Memory available", "Disk space available"},
		"services.json":            {"Availability", "Probe success"},
	} {
		for _, title := range want {
			if !strings.Contains(","+strings.Join(titles[file], ",")+",", ","+title+",") {
				t.Errorf("%s lacks the panel %q (has %v)", file, title, titles[file])
			}
		}
	}
}
