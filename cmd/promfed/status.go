package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/promfed/promfed/internal/stackoutput"
)

func cmdStatus(ctx context.Context, args []string, e *env) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	fs.SetOutput(e.errOut)
	stack := fs.String("stack", "", "stack whose outputs to read when standard input is a terminal")
	endpoint := fs.String("url", "", "Prometheus to ask (default: the stack's url output)")
	caFile := fs.String("ca", "", "CA bundle for -url (for a primary reached directly: the caCertificate output)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	o, _, err := loadOutputs(ctx, e, *stack)
	if err != nil {
		return err
	}
	if *endpoint == "" {
		*endpoint = o.URL
	}
	client, err := newClient(*endpoint, *caFile, o.CACertificate, e.getenv)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.errOut, "asking %s ...\n", *endpoint)
	st, err := status(ctx, o, client)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(e.out, st)
	}
	return printStatus(e.out, st)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// client asks one Prometheus, with basic auth from the environment.
type client struct {
	base       *url.URL
	user, pass string
	http       *http.Client
}

// newClient trusts caFile when given, else the system's roots (the
// endpoint's public certificate) plus the stack's own CA (a primary asked
// directly).
func newClient(endpoint, caFile, stackCA string, getenv func(string) string) (*client, error) {
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("-url %q is not an https URL", endpoint)
	}
	pass := getenv("PROMFED_WEB_PASSWORD")
	if pass == "" {
		return nil, errors.New("PROMFED_WEB_PASSWORD is not set: export it from `pulumi config get webPassword`")
	}
	user := getenv("PROMFED_WEB_USER")
	if user == "" {
		user = "promfed"
	}
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	switch {
	case caFile != "":
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("-ca %s holds no PEM certificate", caFile)
		}
		tlsConfig.RootCAs = pool
	case stackCA != "":
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM([]byte(stackCA)) {
			return nil, errors.New("the caCertificate output holds no PEM certificate")
		}
		tlsConfig.RootCAs = pool
	}
	return &client{base: u, user: user, pass: pass, http: &http.Client{
		Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsConfig},
	}}, nil
}

// sample is one series of an instant query: its labels and value.
type sample struct {
	Labels map[string]string
	Value  float64
}

func (c *client) query(ctx context.Context, q string) ([]sample, error) {
	u := *c.base
	u.Path = strings.TrimSuffix(u.Path, "/") + "/api/v1/query"
	u.RawQuery = url.Values{"query": {q}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), http.NoBody)
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth(c.user, c.pass)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("asking %s: %w", c.base.Host, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized {
		return nil, fmt.Errorf("%s refused the credentials (401): check PROMFED_WEB_USER and PROMFED_WEB_PASSWORD", c.base.Host)
	}
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("%s answered %s, not a Prometheus API response", c.base.Host, resp.Status)
	}
	if body.Status != "success" {
		return nil, fmt.Errorf("query %q: %s", q, body.Error)
	}
	out := make([]sample, 0, len(body.Data.Result))
	for _, r := range body.Data.Result {
		s, _ := r.Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("query %q: value %v", q, r.Value[1])
		}
		out = append(out, sample{Labels: r.Metric, Value: v})
	}
	return out, nil
}

// Status is what `promfed status` reports.
type Status struct {
	Hosts  []HostStatus  `json:"hosts"`
	Shards []ShardStatus `json:"shards"`
	Firing []Alert       `json:"firing"`
}

// HostStatus is one host; a secondary's federation lag is the age of its
// newest heartbeat aggregate on the primary (-1 when it has none).
type HostStatus struct {
	Name                 string  `json:"name"`
	Role                 string  `json:"role"`
	Shard                string  `json:"shard,omitempty"`
	InstanceID           string  `json:"instanceId"`
	PrivateIP            string  `json:"privateIp"`
	FederationLagSeconds float64 `json:"federationLagSeconds,omitempty"`
}

// ShardStatus counts the targets a shard's secondaries scrape.
type ShardStatus struct {
	Name          string `json:"name"`
	TargetsUp     int    `json:"targetsUp"`
	TargetsKnown  int    `json:"targetsKnown"`
	TargetsDown   int    `json:"targetsDown"`
	Secondaries   int    `json:"secondaries"`
	Unfederated   int    `json:"unfederated"`
	LagMaxSeconds int    `json:"lagMaxSeconds"`
}

// Alert is one firing alert.
type Alert struct {
	Name     string `json:"name"`
	Severity string `json:"severity"`
	Labels   string `json:"labels"`
}

func status(ctx context.Context, o *stackoutput.Outputs, c *client) (*Status, error) {
	up, err := c.query(ctx, `sum by (shard) (federate:up:sum)`)
	if err != nil {
		return nil, err
	}
	known, err := c.query(ctx, `sum by (shard) (federate:up:count)`)
	if err != nil {
		return nil, err
	}
	lag, err := c.query(ctx, `time() - max by (secondary) (federate:heartbeat:time)`)
	if err != nil {
		return nil, err
	}
	// Watchdog always fires: it is the heartbeat, not a problem.
	alerts, err := c.query(ctx, `ALERTS{alertstate="firing", alertname!="Watchdog"}`)
	if err != nil {
		return nil, err
	}
	lags := map[string]float64{}
	for _, s := range lag {
		lags[s.Labels["secondary"]] = s.Value
	}
	st := &Status{Hosts: []HostStatus{}, Shards: []ShardStatus{}, Firing: []Alert{}}
	shards := map[string]*ShardStatus{}
	shard := func(name string) *ShardStatus {
		if shards[name] == nil {
			shards[name] = &ShardStatus{Name: name}
		}
		return shards[name]
	}
	for _, n := range o.HostNames() {
		h := o.Hosts[n]
		hs := HostStatus{Name: n, Role: h.Role, Shard: h.Shard, InstanceID: h.InstanceID, PrivateIP: h.PrivateIP}
		if h.Role == "secondary" {
			sh := shard(h.Shard)
			sh.Secondaries++
			l, ok := lags[n]
			if !ok {
				l = -1
				sh.Unfederated++
			} else if int(l) > sh.LagMaxSeconds {
				sh.LagMaxSeconds = int(l)
			}
			hs.FederationLagSeconds = l
		}
		st.Hosts = append(st.Hosts, hs)
	}
	for _, s := range up {
		if name := s.Labels["shard"]; name != "" {
			shard(name).TargetsUp = int(s.Value)
		}
	}
	for _, s := range known {
		if name := s.Labels["shard"]; name != "" {
			shard(name).TargetsKnown = int(s.Value)
		}
	}
	for _, sh := range shards {
		sh.TargetsDown = sh.TargetsKnown - sh.TargetsUp
		st.Shards = append(st.Shards, *sh)
	}
	sort.Slice(st.Shards, func(i, j int) bool { return st.Shards[i].Name < st.Shards[j].Name })
	for _, a := range alerts {
		var rest []string
		for k, v := range a.Labels {
			if k != "__name__" && k != "alertname" && k != "alertstate" && k != "severity" {
				rest = append(rest, k+"="+v)
			}
		}
		sort.Strings(rest)
		st.Firing = append(st.Firing, Alert{Name: a.Labels["alertname"], Severity: a.Labels["severity"], Labels: strings.Join(rest, ",")})
	}
	sort.Slice(st.Firing, func(i, j int) bool {
		return st.Firing[i].Name+st.Firing[i].Labels < st.Firing[j].Name+st.Firing[j].Labels
	})
	return st, nil
}

func printStatus(out io.Writer, st *Status) error {
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "HOST\tROLE\tSHARD\tINSTANCE\tADDRESS\tFEDERATION LAG")
	for _, h := range st.Hosts {
		lag := "-"
		switch {
		case h.Role != "secondary":
		case h.FederationLagSeconds < 0:
			lag = "not federated"
		default:
			lag = fmt.Sprintf("%.0fs", h.FederationLagSeconds)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", h.Name, h.Role, dash(h.Shard), h.InstanceID, h.PrivateIP, lag)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "SHARD\tSECONDARIES\tTARGETS UP\tDOWN\tUNFEDERATED\tMAX LAG")
	for _, s := range st.Shards {
		fmt.Fprintf(w, "%s\t%d\t%d/%d\t%d\t%d\t%ds\n", s.Name, s.Secondaries, s.TargetsUp, s.TargetsKnown, s.TargetsDown, s.Unfederated, s.LagMaxSeconds)
	}
	fmt.Fprintln(w)
	if len(st.Firing) == 0 {
		fmt.Fprintln(w, "No alert firing.")
	} else {
		fmt.Fprintln(w, "FIRING\tSEVERITY\tLABELS")
		for _, a := range st.Firing {
			fmt.Fprintf(w, "%s\t%s\t%s\n", a.Name, dash(a.Severity), a.Labels)
		}
	}
	return w.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
