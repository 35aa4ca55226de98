package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Shard is a group of secondaries that scrape the same targets. Every
// secondary of a shard carries shard="<name>" in its external labels, so
// the primary's global view tells the shards apart.
type Shard struct {
	Name string
	// Region is where the shard's secondaries run: the stack's region
	// unless the shard names another (Config.OtherRegions).
	Region      string
	Secondaries int
	// Labels are extra external labels of the shard's secondaries.
	Labels map[string]string
	EC2    []EC2Job
	DNS    []DNSJob
	Static []StaticJob
	Probes []Probe
	// Peer, when set, peers the stack's VPC with the workload VPC.
	Peer *Peer
	// AlertEmails receive the shard's alerts only: SNS subscriptions that
	// filter on the notification's shard attribute.
	AlertEmails []string
}

// EC2Job discovers targets through the EC2 API by tags.
type EC2Job struct {
	Job         string
	Region      string
	Tags        map[string]string
	Ports       []int
	MetricsPath string
	Scheme      string
	// LabelTags copies EC2 tags (key) to target labels (value).
	LabelTags map[string]string
}

// DNSJob discovers targets from DNS A or SRV records.
type DNSJob struct {
	Job   string
	Names []string
	Type  string // A or SRV
	// Port is the scrape port of A records. SRV records carry their own
	// port, but the security groups must know it: the port they listen on.
	Port        int
	MetricsPath string
	Scheme      string
}

// StaticJob scrapes fixed host:port targets.
type StaticJob struct {
	Job         string
	Targets     []string
	Labels      map[string]string
	MetricsPath string
	Scheme      string
}

// Probe is a URL (or host:port for tcp_connect and tls_connect) probed
// through the secondary's blackbox_exporter.
type Probe struct {
	URL    string
	Module string
}

// Peer is an existing workload VPC in the shard's region.
type Peer struct {
	VpcID         string
	Cidr          netip.Prefix
	RouteTableIDs []string
}

// ScrapePorts are the TCP ports the shard's secondaries scrape workloads on:
// what its security groups open.
func (s Shard) ScrapePorts() []int {
	seen := map[int]bool{}
	for _, j := range s.EC2 {
		for _, p := range j.Ports {
			seen[p] = true
		}
	}
	for _, j := range s.DNS {
		seen[j.Port] = true
	}
	for _, j := range s.Static {
		for _, t := range j.Targets {
			if _, p, err := net.SplitHostPort(t); err == nil {
				n, _ := strconv.Atoi(p)
				seen[n] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

// ProbePorts are the TCP ports the shard's probes reach besides 80 and 443
// (which every host may reach): tcp_connect/tls_connect targets, and URLs
// with an explicit port.
func (s Shard) ProbePorts() []int {
	seen := map[int]bool{}
	for _, p := range s.Probes {
		hostport := p.URL
		if u, err := url.Parse(p.URL); err == nil && u.Host != "" {
			hostport = u.Host
		}
		if _, port, err := net.SplitHostPort(hostport); err == nil {
			if n, err := strconv.Atoi(port); err == nil && n != 80 && n != 443 {
				seen[n] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

// DiscoveryRegions are the regions the shard's EC2 jobs query.
func (s Shard) DiscoveryRegions() []string {
	seen := map[string]bool{}
	var out []string
	for _, j := range s.EC2 {
		if !seen[j.Region] {
			seen[j.Region] = true
			out = append(out, j.Region)
		}
	}
	sort.Strings(out)
	return out
}

// Limits of the shard model.
const (
	maxShards           = 10
	maxSecondaries      = 10 // per shard
	maxTotalSecondaries = 20
)

var (
	shardNameRe   = regexp.MustCompile(`^[a-z]([a-z0-9-]{0,18}[a-z0-9])?$`)
	labelNameRe   = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
	jobNameRe     = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_.-]{0,63}$`)
	metricsPathRe = regexp.MustCompile(`^/[A-Za-z0-9._~/-]*$`)
	dnsSDNameRe   = regexp.MustCompile(`^(_?[a-z0-9]([a-z0-9_-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}\.?$`)
	vpcIDRe       = regexp.MustCompile(`^vpc-[0-9a-f]{8}([0-9a-f]{9})?$`)
	rtbIDRe       = regexp.MustCompile(`^rtb-[0-9a-f]{8}([0-9a-f]{9})?$`)
)

// Label names the federation sets itself; a shard may not override them.
var reservedLabels = []string{"shard", "replica", "instance", "job", "stack", "prometheus", "secondary"}

// Job names of the stack's own scrape jobs.
var reservedJobs = []string{"prometheus", "node", "blackbox", "federate"}

// ProbeModules are the blackbox_exporter modules the role defines
// (ansible/roles/blackbox_exporter/templates/blackbox.yml.j2).
var ProbeModules = []string{"http_2xx", "https_2xx", "tcp_connect", "tls_connect"}

// Regions lists the AWS commercial regions (from the AWS general reference,
// "Regional endpoints", 2026-11). A region not listed here is refused.
var Regions = []string{
	"af-south-1", "ap-east-1", "ap-east-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
	"ap-south-1", "ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4",
	"ap-southeast-5", "ap-southeast-7", "ca-central-1", "ca-west-1", "eu-central-1", "eu-central-2",
	"eu-north-1", "eu-south-1", "eu-south-2", "eu-west-1", "eu-west-2", "eu-west-3", "il-central-1",
	"me-central-1", "me-south-1", "mx-central-1", "sa-east-1", "us-east-1", "us-east-2", "us-west-1", "us-west-2",
}

// obj is one JSON object being read, with its key path for messages.
type obj struct {
	l      *loader
	path   string
	fields map[string]json.RawMessage
}

// object reads raw as a JSON object and refuses keys not in known.
func (l *loader) object(path string, raw json.RawMessage, known ...string) *obj {
	o := &obj{l: l, path: path}
	if err := json.Unmarshal(raw, &o.fields); err != nil || o.fields == nil {
		l.failf("%s is not an object: %s", path, compact(raw))
		return nil
	}
	for k := range o.fields {
		if !slices.Contains(known, k) {
			l.failf("%s.%s is not a known setting: use one of %s", path, k, strings.Join(known, ", "))
		}
	}
	return o
}

func (o *obj) has(key string) bool { _, ok := o.fields[key]; return ok }

func (o *obj) str(key, def string) string {
	raw, ok := o.fields[key]
	if !ok {
		return def
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		o.l.failf("%s.%s %s is not a string", o.path, key, compact(raw))
		return def
	}
	return strings.TrimSpace(s)
}

// integer accepts a JSON number or a string holding one (`pulumi config
// set --path` stores plain values as strings).
func (o *obj) integer(key string, def, lo, hi int) int {
	raw, ok := o.fields[key]
	if !ok {
		return def
	}
	n, ok := flexInt(raw)
	if !ok {
		o.l.failf("%s.%s %s is not an integer", o.path, key, compact(raw))
		return def
	}
	if n < lo || n > hi {
		o.l.failf("%s.%s %d is out of range: it must be between %d and %d", o.path, key, n, lo, hi)
	}
	return n
}

func (o *obj) strings(key string) []string {
	raw, ok := o.fields[key]
	if !ok {
		return nil
	}
	var out []string
	if err := json.Unmarshal(raw, &out); err != nil {
		o.l.failf("%s.%s %s is not a list of strings", o.path, key, compact(raw))
		return nil
	}
	return out
}

func (o *obj) ints(key string) []int {
	raw, ok := o.fields[key]
	if !ok {
		return nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		o.l.failf("%s.%s %s is not a list of integers", o.path, key, compact(raw))
		return nil
	}
	out := make([]int, 0, len(items))
	for i, it := range items {
		n, ok := flexInt(it)
		if !ok {
			o.l.failf("%s.%s[%d] %s is not an integer", o.path, key, i, compact(it))
			continue
		}
		out = append(out, n)
	}
	return out
}

func (o *obj) stringMap(key string) map[string]string {
	raw, ok := o.fields[key]
	if !ok {
		return nil
	}
	var out map[string]string
	if err := json.Unmarshal(raw, &out); err != nil {
		o.l.failf("%s.%s %s is not a map of strings", o.path, key, compact(raw))
		return nil
	}
	return out
}

// list returns the raw elements of a list field.
func (o *obj) list(key string) []json.RawMessage {
	raw, ok := o.fields[key]
	if !ok {
		return nil
	}
	var out []json.RawMessage
	if err := json.Unmarshal(raw, &out); err != nil {
		o.l.failf("%s.%s is not a list: %s", o.path, key, compact(raw))
		return nil
	}
	return out
}

func flexInt(raw json.RawMessage) (int, bool) {
	var n json.Number
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return 0, false
	}
	switch x := v.(type) {
	case json.Number:
		n = x
	case string:
		n = json.Number(strings.TrimSpace(x))
	default:
		return 0, false
	}
	i, err := strconv.Atoi(string(n))
	return i, err == nil
}

func compact(raw json.RawMessage) string {
	s := string(raw)
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return s
}

// shards reads and checks the shards setting.
func (l *loader) shards(region string, vpc netip.Prefix) []Shard {
	s := l.str("shards")
	var items []json.RawMessage
	if err := json.Unmarshal([]byte(s), &items); err != nil {
		l.failf("shards is not a list of shard objects: %v (set it in the stack file, or with pulumi config set --path 'shards[0].name' apps)", err)
		return nil
	}
	if len(items) == 0 || len(items) > maxShards {
		l.failf("shards has %d entries: between 1 and %d shards are needed", len(items), maxShards)
	}
	var out []Shard
	names := map[string]int{}
	total := 0
	for i, raw := range items {
		path := fmt.Sprintf("shards[%d]", i)
		o := l.object(path, raw, "name", "secondaries", "labels", "ec2", "dns", "static", "probes", "peer", "alertEmails", "region")
		if o == nil {
			continue
		}
		sh := Shard{Name: o.str("name", ""), Secondaries: o.integer("secondaries", 1, 1, maxSecondaries)}
		if !shardNameRe.MatchString(sh.Name) {
			l.failf("%s.name %q is not allowed: 1-20 lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen (it becomes part of DNS names such as secondary-<name>-1)", path, sh.Name)
		} else if j, dup := names[sh.Name]; dup {
			l.failf("%s.name %q repeats shards[%d].name: shard names must be unique", path, sh.Name, j)
		} else {
			names[sh.Name] = i
		}
		total += sh.Secondaries
		if sh.Region = o.str("region", region); !slices.Contains(Regions, sh.Region) {
			l.failf("%s.region %q is not an AWS region this program knows (%s ...)", path, sh.Region, strings.Join(Regions[:4], ", "))
		}
		sh.Labels = l.labels(path+".labels", o.stringMap("labels"))
		jobs := map[string]string{}
		for j, r := range o.list("ec2") {
			sh.EC2 = append(sh.EC2, l.ec2Job(fmt.Sprintf("%s.ec2[%d]", path, j), r, sh.Region, jobs))
		}
		for j, r := range o.list("dns") {
			sh.DNS = append(sh.DNS, l.dnsJob(fmt.Sprintf("%s.dns[%d]", path, j), r, jobs))
		}
		for j, r := range o.list("static") {
			sh.Static = append(sh.Static, l.staticJob(fmt.Sprintf("%s.static[%d]", path, j), r, jobs))
		}
		seenProbe := map[string]bool{}
		for j, r := range o.list("probes") {
			p := l.probe(fmt.Sprintf("%s.probes[%d]", path, j), r)
			if key := p.Module + " " + p.URL; seenProbe[key] {
				l.failf("%s.probes[%d] repeats %s with module %s", path, j, p.URL, p.Module)
			} else {
				seenProbe[key] = true
			}
			sh.Probes = append(sh.Probes, p)
		}
		if o.has("peer") {
			// A peer of another region's shard is checked against that
			// region's VPC once regionVpcCidrs is read.
			home := vpc
			if sh.Region != region {
				home = netip.Prefix{}
			}
			sh.Peer = l.peer(path+".peer", o.fields["peer"], home)
		}
		sh.AlertEmails = o.strings("alertEmails")
		for j, e := range sh.AlertEmails {
			if !emailRe.MatchString(e) {
				l.failf("%s.alertEmails[%d] %q is not an email address", path, j, e)
			}
		}
		out = append(out, sh)
	}
	if total > maxTotalSecondaries {
		l.failf("shards ask for %d secondaries in all: at most %d are allowed", total, maxTotalSecondaries)
	}
	// Peers of one VPC (the shards of one region) may not overlap each
	// other (the VPC is checked per peer).
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			a, b := out[i].Peer, out[j].Peer
			if a != nil && b != nil && out[i].Region == out[j].Region && a.Cidr.IsValid() && b.Cidr.IsValid() && a.Cidr.Overlaps(b.Cidr) {
				l.failf("shards[%d].peer.cidr %s overlaps shards[%d].peer.cidr %s: routes to overlapping peers are ambiguous", j, b.Cidr, i, a.Cidr)
			}
		}
	}
	return out
}

func (l *loader) labels(path string, m map[string]string) map[string]string {
	for _, k := range slices.Sorted(maps.Keys(m)) {
		switch {
		case !labelNameRe.MatchString(k) || strings.HasPrefix(k, "__"):
			l.failf("%s key %q is not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)", path, k)
		case slices.Contains(reservedLabels, k):
			l.failf("%s key %q is reserved: the federation sets %s itself", path, k, strings.Join(reservedLabels, ", "))
		case m[k] == "":
			l.failf("%s.%s is empty: Prometheus drops labels with empty values", path, k)
		}
	}
	return m
}

// common reads the fields every scrape job has and checks its job name.
func (l *loader) jobCommon(o *obj, jobs map[string]string) (job, path, scheme string) {
	job = o.str("job", "")
	switch {
	case !jobNameRe.MatchString(job):
		l.failf("%s.job %q is not a job name (letters, digits, _ . -, starting with a letter or _)", o.path, job)
	case slices.Contains(reservedJobs, job):
		l.failf("%s.job %q is reserved for the stack's own scrape jobs (%s)", o.path, job, strings.Join(reservedJobs, ", "))
	default:
		if prev, dup := jobs[job]; dup {
			l.failf("%s.job %q repeats %s.job: job names must be unique within a shard", o.path, job, prev)
		}
		jobs[job] = o.path
	}
	path = o.str("metricsPath", "/metrics")
	if !metricsPathRe.MatchString(path) {
		l.failf("%s.metricsPath %q is not a URL path starting with /", o.path, path)
	}
	scheme = o.str("scheme", "http")
	if scheme != "http" && scheme != "https" {
		l.failf("%s.scheme %q is not allowed: use http or https", o.path, scheme)
	}
	return job, path, scheme
}

func (l *loader) port(path string, p int) {
	if p < 1 || p > 65535 {
		l.failf("%s %d is out of range: a TCP port is between 1 and 65535", path, p)
	}
}

func (l *loader) ec2Job(path string, raw json.RawMessage, region string, jobs map[string]string) EC2Job {
	o := l.object(path, raw, "job", "region", "tags", "ports", "metricsPath", "scheme", "labelTags")
	if o == nil {
		return EC2Job{}
	}
	j := EC2Job{Region: o.str("region", region), Tags: o.stringMap("tags"), Ports: o.ints("ports"), LabelTags: o.stringMap("labelTags")}
	j.Job, j.MetricsPath, j.Scheme = l.jobCommon(o, jobs)
	if !slices.Contains(Regions, j.Region) {
		l.failf("%s.region %q is not an AWS region this program knows (%s ...)", path, j.Region, strings.Join(Regions[:4], ", "))
	}
	if len(j.Tags) == 0 {
		l.failf("%s.tags is empty: without a tag filter EC2 discovery would scrape every instance in the region; give at least one tag, for example {\"Team\": \"apps\"}", path)
	}
	for _, k := range slices.Sorted(maps.Keys(j.Tags)) {
		if k == "" || len(k) > 128 || strings.HasPrefix(k, "aws:") {
			l.failf("%s.tags key %q is not a usable EC2 tag key (1-128 characters, not starting with aws:)", path, k)
		}
		if v := j.Tags[k]; len(v) > 256 {
			l.failf("%s.tags.%s has %d characters: EC2 tag values have at most 256", path, k, len(v))
		}
	}
	if len(j.Ports) == 0 {
		l.failf("%s.ports is empty: list the port(s) to scrape, for example [9100]", path)
	}
	seen := map[int]bool{}
	for i, p := range j.Ports {
		l.port(fmt.Sprintf("%s.ports[%d]", path, i), p)
		if seen[p] {
			l.failf("%s.ports[%d] repeats port %d", path, i, p)
		}
		seen[p] = true
	}
	for _, tag := range slices.Sorted(maps.Keys(j.LabelTags)) {
		label := j.LabelTags[tag]
		if tag == "" || len(tag) > 128 {
			l.failf("%s.labelTags key %q is not an EC2 tag key", path, tag)
		}
		if !labelNameRe.MatchString(label) || strings.HasPrefix(label, "__") || slices.Contains(reservedLabels, label) ||
			slices.Contains([]string{"instance_id", "availability_zone", "instance_type"}, label) {
			l.failf("%s.labelTags.%s: %q is not a free label name (reserved: %s, instance_id, availability_zone, instance_type)", path, tag, label, strings.Join(reservedLabels, ", "))
		}
	}
	return j
}

func (l *loader) dnsJob(path string, raw json.RawMessage, jobs map[string]string) DNSJob {
	o := l.object(path, raw, "job", "names", "type", "port", "metricsPath", "scheme")
	if o == nil {
		return DNSJob{}
	}
	j := DNSJob{Names: o.strings("names"), Type: o.str("type", "A"), Port: o.integer("port", 0, 0, 65535)}
	j.Job, j.MetricsPath, j.Scheme = l.jobCommon(o, jobs)
	if j.Type != "A" && j.Type != "SRV" {
		l.failf("%s.type %q is not allowed: use A or SRV", path, j.Type)
	}
	if j.Type == "SRV" && j.Port == 0 {
		l.failf("%s.port is missing: SRV records carry their own ports, but the security groups need the port the targets listen on", path)
	} else {
		l.port(path+".port", j.Port)
	}
	if len(j.Names) == 0 {
		l.failf("%s.names is empty: list the DNS names to resolve", path)
	}
	for i, n := range j.Names {
		if !dnsSDNameRe.MatchString(strings.ToLower(n)) || len(n) > 253 {
			l.failf("%s.names[%d] %q is not a DNS name", path, i, n)
		}
	}
	return j
}

func (l *loader) staticJob(path string, raw json.RawMessage, jobs map[string]string) StaticJob {
	o := l.object(path, raw, "job", "targets", "labels", "metricsPath", "scheme")
	if o == nil {
		return StaticJob{}
	}
	j := StaticJob{Targets: o.strings("targets"), Labels: l.labels(path+".labels", o.stringMap("labels"))}
	j.Job, j.MetricsPath, j.Scheme = l.jobCommon(o, jobs)
	if len(j.Targets) == 0 {
		l.failf("%s.targets is empty: list host:port targets, for example [\"app-1.internal:8080\"]", path)
	}
	seen := map[string]bool{}
	for i, t := range j.Targets {
		l.hostPort(fmt.Sprintf("%s.targets[%d]", path, i), t)
		if seen[t] {
			l.failf("%s.targets[%d] repeats %q", path, i, t)
		}
		seen[t] = true
	}
	return j
}

// hostPort checks a host:port target.
func (l *loader) hostPort(path, t string) {
	host, port, err := net.SplitHostPort(t)
	n, perr := strconv.Atoi(port)
	switch {
	case err != nil || host == "" || strings.Contains(t, "/"):
		l.failf("%s %q is not host:port", path, t)
	case perr != nil || n < 1 || n > 65535:
		l.failf("%s %q has port %q: a TCP port is between 1 and 65535", path, t, port)
	case net.ParseIP(host) == nil && !dnsSDNameRe.MatchString(strings.ToLower(host)) && !shardNameRe.MatchString(host):
		l.failf("%s %q: %q is neither an IP address nor a DNS name", path, t, host)
	}
}

func (l *loader) probe(path string, raw json.RawMessage) Probe {
	o := l.object(path, raw, "url", "module")
	if o == nil {
		return Probe{}
	}
	p := Probe{URL: o.str("url", ""), Module: o.str("module", "http_2xx")}
	if !slices.Contains(ProbeModules, p.Module) {
		l.failf("%s.module %q is not a blackbox module of the stack: use one of %s", path, p.Module, strings.Join(ProbeModules, ", "))
		return p
	}
	if p.Module == "tcp_connect" || p.Module == "tls_connect" {
		l.hostPort(path+".url", p.URL)
		return p
	}
	u, err := url.Parse(p.URL)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https"):
		l.failf("%s.url %q is not an http:// or https:// URL with a host", path, p.URL)
	case p.Module == "https_2xx" && u.Scheme != "https":
		l.failf("%s.url %q: module https_2xx needs an https:// URL", path, p.URL)
	}
	return p
}

func (l *loader) peer(path string, raw json.RawMessage, vpc netip.Prefix) *Peer {
	o := l.object(path, raw, "vpcId", "cidr", "routeTableIds")
	if o == nil {
		return nil
	}
	p := &Peer{VpcID: o.str("vpcId", ""), RouteTableIDs: o.strings("routeTableIds")}
	if !vpcIDRe.MatchString(p.VpcID) {
		l.failf("%s.vpcId %q is not a VPC id (vpc- followed by 8 or 17 hex digits)", path, p.VpcID)
	}
	c := o.str("cidr", "")
	cidr, err := netip.ParsePrefix(c)
	switch {
	case err != nil || !cidr.Addr().Is4():
		l.failf("%s.cidr %q is not an IPv4 CIDR", path, c)
	case cidr != cidr.Masked():
		l.failf("%s.cidr %q has host bits set; write %s", path, c, cidr.Masked())
	case vpc.IsValid() && cidr.Overlaps(vpc):
		l.failf("%s.cidr %s overlaps vpcCidr %s: AWS cannot peer VPCs whose CIDRs overlap", path, cidr, vpc)
	default:
		p.Cidr = cidr
	}
	if len(p.RouteTableIDs) == 0 {
		l.failf("%s.routeTableIds is empty: list the workload VPC's route tables that need a route back to the stack", path)
	}
	for i, id := range p.RouteTableIDs {
		if !rtbIDRe.MatchString(id) {
			l.failf("%s.routeTableIds[%d] %q is not a route table id (rtb- followed by 8 or 17 hex digits)", path, i, id)
		}
	}
	return p
}
