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
	"slices"
	"strings"
	"testing"
)

const stackOutputs = `{
  "url": "%URL%", "region": "eu-west-1",
  "bastionIp": "203.0.113.7", "bastionHostKey": "ssh-ed25519 AAAAbastion", "sshUser": "promfed",
  "hosts": {
    "primary-a": {"privateIp": "10.40.10.11", "instanceId": "i-0a", "role": "primary", "shard": "", "hostKey": "ssh-ed25519 AAAAa"},
    "secondary-apps-1": {"privateIp": "10.40.11.21", "instanceId": "i-1a", "role": "secondary", "shard": "apps", "hostKey": "ssh-ed25519 AAAAs1", "dataVolumeId": "vol-0123456789abcdef0"},
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

// testEnv is an env with input as standard input and vars as the
// environment; output is collected.
func testEnv(input string, vars map[string]string) (*env, *bytes.Buffer, *bytes.Buffer) {
	var out, errOut bytes.Buffer
	return &env{in: strings.NewReader(input), out: &out, errOut: &errOut,
		getenv: func(k string) string { return vars[k] }}, &out, &errOut
}

func runStatus(t *testing.T, srv *httptest.Server, password string, extra ...string) (string, error) {
	t.Helper()
	args := append([]string{"status", "-ca", caFile(t, srv)}, extra...)
	e, out, _ := testEnv(strings.ReplaceAll(stackOutputs, "%URL%", srv.URL), map[string]string{"PROMFED_WEB_PASSWORD": password})
	err := run(context.Background(), args, e)
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
	e, _, _ := testEnv(strings.ReplaceAll(stackOutputs, "%URL%", srv.URL), map[string]string{"PROMFED_WEB_PASSWORD": "a-long-web-password"}) //nolint:gosec // the test server's password
	err := run(context.Background(), []string{"status"}, e)
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("untrusted certificate: %v", err)
	}
	for _, tc := range []struct {
		args  []string
		input string
		want  string
	}{
		{nil, "", "usage: promfed status"},
		{[]string{"scales"}, "", `unknown command "scales"`},
		{[]string{"status"}, "not json", "reading stack outputs"},
		{[]string{"status"}, `{"hosts":{}}`, "stack outputs lack url or hosts"},
		{[]string{"status", "-url", "http://prometheus.example.com"}, strings.ReplaceAll(stackOutputs, "%URL%", "https://x"), "is not an https URL"},
		{[]string{"ssh"}, "", "ssh: name a host"},
		{[]string{"ssh", "primary-a"}, `{"url":"https://x","hosts":{"primary-a":{"privateIp":"10.0.0.1","hostKey":"k"}}}`, "lack bastionIp, bastionHostKey or sshUser"},
		{[]string{"snapshot"}, "", "snapshot: name one host"},
		{[]string{"snapshot", "secondary-9"}, strings.ReplaceAll(stackOutputs, "%URL%", "https://x"), `snapshot: "secondary-9" is not a host of this stack`},
		{[]string{"snapshot", "secondary-data-1"}, strings.ReplaceAll(stackOutputs, "%URL%", "https://x"), "no dataVolumeId for secondary-data-1"},
		{[]string{"restore", "secondary-apps-1"}, "", "restore: name a host and a snapshot"},
		{[]string{"restore", "secondary-apps-1", "snap-123"}, "", `"snap-123" is not an EBS snapshot id`},
		{[]string{"scale", "apps"}, "", "scale: name a shard and a number"},
		{[]string{"scale", "apps", "0"}, "", `"0" is not a number of secondaries`},
		{[]string{"scale", "apps", "two"}, "", `"two" is not a number of secondaries`},
	} {
		e, _, _ := testEnv(tc.input, nil)
		err := run(context.Background(), tc.args, e)
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
	// The bastion hop is checked against the same pinned file: -J would
	// check it against the user's default files.
	want := []string{"ssh", "-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=" + kh,
		"-o", "ProxyCommand=ssh -o StrictHostKeyChecking=yes -o UserKnownHostsFile=" + kh + " -W %h:%p promfed@203.0.113.7",
		"promfed@10.40.11.21", "df", "-h"}
	if !slices.Equal(argv, want) {
		t.Errorf("argv %q", argv)
	}
	pins, err := os.ReadFile(kh)
	if err != nil || string(pins) != "203.0.113.7 ssh-ed25519 AAAAbastion\n10.40.10.11 ssh-ed25519 AAAAa\n10.40.11.21 ssh-ed25519 AAAAs1\n10.40.10.22 ssh-ed25519 AAAAs2\n10.40.11.23 ssh-ed25519 AAAAs3\n" {
		t.Errorf("known_hosts %q (%v)", pins, err)
	}
	if _, err := sshCommand(o, "secondary-9", kh, nil); err == nil || !strings.Contains(err.Error(), `"secondary-9" is not a host of this stack: use one of primary-a, secondary-apps-1, secondary-apps-2, secondary-data-1`) {
		t.Errorf("unknown host: %v", err)
	}
}

// The stack's CA from the outputs is trusted without -ca: a primary asked
// directly presents a certificate of that CA.
func TestStatusTrustsTheStackCA(t *testing.T) {
	srv := prometheus(t)
	defer srv.Close()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	caJSON, _ := json.Marshal(string(ca))
	outputs := strings.Replace(strings.ReplaceAll(stackOutputs, "%URL%", srv.URL), `"region"`, `"caCertificate": `+string(caJSON)+`, "region"`, 1)
	e, out, _ := testEnv(outputs, map[string]string{"PROMFED_WEB_PASSWORD": "a-long-web-password"}) //nolint:gosec // the test server's password
	if err := run(context.Background(), []string{"status", "-json"}, e); err != nil || !strings.Contains(out.String(), `"targetsUp": 5`) {
		t.Errorf("status with the stack CA: %v\n%s", err, out)
	}
}
