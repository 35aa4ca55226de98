package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const stackOutputs = `{
  "url": "%URL%",
  "bastionIp": "203.0.113.7", "bastionHostKey": "ssh-ed25519 AAAAbastion", "sshUser": "promfed",
  "hosts": {
    "primary-a": {"privateIp": "10.40.10.11", "instanceId": "i-0a", "role": "primary", "shard": "", "hostKey": "ssh-ed25519 AAAAa"},
    "secondary-apps-1": {"privateIp": "10.40.11.21", "instanceId": "i-1a", "role": "secondary", "shard": "apps", "hostKey": "ssh-ed25519 AAAAs1"},
    "secondary-apps-2": {"privateIp": "10.40.10.22", "instanceId": "i-2a", "role": "secondary", "shard": "apps", "hostKey": "ssh-ed25519 AAAAs2"},
    "secondary-data-1": {"privateIp": "10.40.11.23", "instanceId": "i-3a", "role": "secondary", "shard": "data", "hostKey": "ssh-ed25519 AAAAs3"}
  }
}`

// prometheus stands in for the primary's API: basic auth, and the answers
// of the queries status asks.
func prometheus(t *testing.T) *httptest.Server {
	t.Helper()
	answers := map[string]string{
		`sum by (shard) (federate:up:sum)`:   `[{"metric":{"shard":"apps"},"value":[1,"5"]},{"metric":{"shard":"data"},"value":[1,"2"]}]`,
		`sum by (shard) (federate:up:count)`: `[{"metric":{"shard":"apps"},"value":[1,"6"]},{"metric":{"shard":"data"},"value":[1,"2"]}]`,
		// secondary-data-1 is not federated: no heartbeat.
		`time() - max by (secondary) (federate:heartbeat:time)`: `[{"metric":{"secondary":"secondary-apps-1"},"value":[1,"14.2"]},{"metric":{"secondary":"secondary-apps-2"},"value":[1,"31"]}]`,
		`ALERTS{alertstate="firing", alertname!="Watchdog"}`:    `[{"metric":{"__name__":"ALERTS","alertname":"FederationFailing","alertstate":"firing","severity":"critical","secondary":"secondary-data-1","shard":"data"},"value":[1,"1"]}]`,
	}
	return httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "promfed" || p != "a-long-web-password" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		res, ok := answers[r.URL.Query().Get("query")]
		if r.URL.Path != "/api/v1/query" || !ok {
			t.Errorf("unexpected request %s %q", r.URL.Path, r.URL.Query().Get("query"))
			http.Error(w, `{"status":"error","error":"unexpected"}`, http.StatusBadRequest)
			return
		}
		_, _ = w.Write([]byte(`{"status":"success","data":{"resultType":"vector","result":` + res + `}}`))
	}))
}

// caFile writes the test server's certificate as a CA bundle.
func caFile(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ca.pem")
	block := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(path, block, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func env(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }

func runStatus(t *testing.T, srv *httptest.Server, password string, extra ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	args := append([]string{"status", "-ca", caFile(t, srv)}, extra...)
	err := run(context.Background(), args, strings.NewReader(strings.ReplaceAll(stackOutputs, "%URL%", srv.URL)), &out, &errOut,
		env(map[string]string{"PROMFED_WEB_PASSWORD": password}))
	return out.String(), err
}

func TestStatusTable(t *testing.T) {
	srv := prometheus(t)
	defer srv.Close()
	out, err := runStatus(t, srv, "a-long-web-password")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"secondary-apps-1  secondary  apps   i-1a      10.40.11.21  14s",
		"secondary-data-1  secondary  data   i-3a      10.40.11.23  not federated",
		"primary-a         primary    -      i-0a      10.40.10.11  -",
		"apps   2            5/6         1     0            31s",
		"data   1            2/2         0     1            0s",
		"FederationFailing  critical  secondary=secondary-data-1,shard=data",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the table lacks %q:\n%s", want, out)
		}
	}
}

func TestStatusJSON(t *testing.T) {
	srv := prometheus(t)
	defer srv.Close()
	out, err := runStatus(t, srv, "a-long-web-password", "-json")
	if err != nil {
		t.Fatal(err)
	}
	var st Status
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if len(st.Hosts) != 4 || st.Hosts[1].Name != "secondary-apps-1" || st.Hosts[1].FederationLagSeconds != 14.2 || st.Hosts[3].FederationLagSeconds != -1 {
		t.Errorf("hosts %+v", st.Hosts)
	}
	if len(st.Shards) != 2 || st.Shards[0] != (ShardStatus{Name: "apps", TargetsUp: 5, TargetsKnown: 6, TargetsDown: 1, Secondaries: 2, LagMaxSeconds: 31}) {
		t.Errorf("shards %+v", st.Shards)
	}
	if len(st.Firing) != 1 || st.Firing[0].Name != "FederationFailing" {
		t.Errorf("firing %+v", st.Firing)
	}
}

func TestStatusErrorsSayWhatToDo(t *testing.T) {
	srv := prometheus(t)
	defer srv.Close()
	if _, err := runStatus(t, srv, "wrong"); err == nil || !strings.Contains(err.Error(), "refused the credentials (401): check PROMFED_WEB_USER and PROMFED_WEB_PASSWORD") {
		t.Errorf("wrong password: %v", err)
	}
	if _, err := runStatus(t, srv, ""); err == nil || !strings.Contains(err.Error(), "PROMFED_WEB_PASSWORD is not set") {
		t.Errorf("no password: %v", err)
	}
	// Without -ca the test server's certificate is not trusted.
	var out bytes.Buffer
	err := run(context.Background(), []string{"status"}, strings.NewReader(strings.ReplaceAll(stackOutputs, "%URL%", srv.URL)), &out, &out,
		env(map[string]string{"PROMFED_WEB_PASSWORD": "a-long-web-password"})) //nolint:gosec // the test server's password
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("untrusted certificate: %v", err)
	}
	for _, tc := range []struct {
		args  []string
		input string
		want  string
	}{
		{nil, "", "usage: promfed status"},
		{[]string{"scale"}, "", `unknown command "scale"`},
		{[]string{"status"}, "not json", "reading stack outputs"},
		{[]string{"status"}, `{"hosts":{}}`, "stack outputs lack url or hosts"},
		{[]string{"status", "-url", "http://prometheus.example.com"}, strings.ReplaceAll(stackOutputs, "%URL%", "https://x"), "is not an https URL"},
		{[]string{"ssh"}, "", "ssh: name a host"},
	} {
		err := run(context.Background(), tc.args, strings.NewReader(tc.input), &out, &out, env(nil))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want %q", tc.args, err, tc.want)
		}
	}
}

func TestSSHThroughTheBastionWithPinnedKeys(t *testing.T) {
	o, err := readOutputs(strings.NewReader(strings.ReplaceAll(stackOutputs, "%URL%", "https://x")))
	if err != nil {
		t.Fatal(err)
	}
	kh := filepath.Join(t.TempDir(), "known_hosts")
	argv, err := sshCommand(o, "secondary-apps-1", kh, []string{"df", "-h"})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(argv, " "); got != "ssh -o UserKnownHostsFile="+kh+" -o StrictHostKeyChecking=yes -J promfed@203.0.113.7 promfed@10.40.11.21 df -h" {
		t.Errorf("argv %s", got)
	}
	pins, err := os.ReadFile(kh)
	if err != nil || string(pins) != "203.0.113.7 ssh-ed25519 AAAAbastion\n10.40.11.21 ssh-ed25519 AAAAs1\n" {
		t.Errorf("known_hosts %q (%v)", pins, err)
	}
	if _, err := sshCommand(o, "secondary-9", kh, nil); err == nil || !strings.Contains(err.Error(), `"secondary-9" is not a host of this stack: use one of primary-a, secondary-apps-1, secondary-apps-2, secondary-data-1`) {
		t.Errorf("unknown host: %v", err)
	}
}
