// Package cost estimates what a promfed stack costs a month, from its
// resources (type and inputs: the offline plan's or a deployed stack's
// export) and a checked-in price table per region. What the resources do
// not say (traffic, log volume, snapshot churn, samples sent to AMP) comes
// from Usage, whose every assumption the report prints.
package cost

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/promfed/promfed/internal/contract"
)

// HoursPerMonth is AWS's billing month (365 days * 24 / 12).
const HoursPerMonth = 730

// Resource is what the estimate reads of one resource.
type Resource struct {
	Type   string         `json:"type"`
	Name   string         `json:"name"`
	Inputs map[string]any `json:"inputs"`
	// Region is where the resource runs when it is not the report's
	// region (a shard in another region).
	Region string `json:"region,omitempty"`
}

// Usage holds the assumptions the resources do not decide.
type Usage struct {
	NATGBPerGateway     float64 `json:"natGbPerGateway"`
	ALBLCU              float64 `json:"albLcu"`
	EgressGB            float64 `json:"egressGb"`
	LogGBPerGroup       float64 `json:"logGbPerGroup"`
	VolumeFill          float64 `json:"volumeFill"`
	DailyChange         float64 `json:"dailyChange"`
	WAFRequestsMillions float64 `json:"wafRequestsMillions"`
	// AMPSamplesPerSecond is what remote_write sends, when the stack has
	// an AMP workspace: series sent / scrape interval.
	AMPSamplesPerSecond float64 `json:"ampSamplesPerSecond"`
	AMPBytesPerSample   float64 `json:"ampBytesPerSample"`
}

// DefaultUsage is a quiet production fleet: the figures the report uses
// unless told otherwise.
func DefaultUsage() Usage {
	return Usage{
		NATGBPerGateway: 20, ALBLCU: 1, EgressGB: 10, LogGBPerGroup: 1,
		VolumeFill: 0.5, DailyChange: 0.05, WAFRequestsMillions: 1,
		AMPSamplesPerSecond: 1000, AMPBytesPerSample: 1.5,
	}
}

// assumption is the sentence Print shows for a part of Usage, by the
// component that used it.
func (u Usage) assumption(component string) string {
	switch component {
	case "nat gateways":
		return fmt.Sprintf("each NAT gateway processes %.0f GB a month (package updates, AWS APIs)", u.NATGBPerGateway)
	case "load balancer":
		return fmt.Sprintf("the load balancer averages %.1f LCU; %.0f GB a month leave through it", u.ALBLCU, u.EgressGB)
	case "cloudwatch":
		return fmt.Sprintf("each log group takes in %.1f GB a month", u.LogGBPerGroup)
	case "snapshots":
		return fmt.Sprintf("data volumes are %.0f%% full and %.0f%% of that changes a day (snapshots are incremental)", u.VolumeFill*100, u.DailyChange*100)
	case "waf":
		return fmt.Sprintf("the web ACL sees %.1f million requests a month", u.WAFRequestsMillions)
	case "amp":
		return fmt.Sprintf("remote_write sends %.0f samples/s to AMP, stored at %.1f bytes a sample for AMP's 150 days", u.AMPSamplesPerSecond, u.AMPBytesPerSample)
	}
	return ""
}

// Line is one priced item.
type Line struct {
	Component  string  `json:"component"`
	Item       string  `json:"item"`
	Quantity   float64 `json:"quantity"`
	Unit       string  `json:"unit"`
	UnitUSD    float64 `json:"unitUsd"`
	MonthlyUSD float64 `json:"monthlyUsd"`
	// Unchecked: the table's price has no source yet.
	Unchecked bool `json:"unchecked,omitempty"`
}

// Report is the estimate.
type Report struct {
	Region      string   `json:"region"`
	Prices      string   `json:"prices"`
	Lines       []Line   `json:"lines"`
	Components  []Line   `json:"components"`
	TotalUSD    float64  `json:"totalUsd"`
	Assumptions []string `json:"assumptions"`
	// Unpriced lists what the table has no price for (left out of the
	// total), and what is billed elsewhere (Cloudflare).
	Unpriced []string `json:"unpriced"`
}

// estimator collects lines while walking the resources.
type estimator struct {
	t       *Table // the table of the resource being priced
	region  string // its region
	u       Usage
	r       *Report
	missing map[string]bool
}

// in sets the table for a resource's region: its own when the price file
// has one, the report region's otherwise (said in the assumptions).
func (e *estimator) in(res Resource, home *Table) {
	e.t, e.region = home, e.r.Region
	if res.Region == "" || res.Region == e.r.Region {
		return
	}
	if t, err := TableFor(res.Region); err == nil {
		e.t, e.region = t, res.Region
		return
	}
	note := fmt.Sprintf("resources in %s are priced at %s prices: internal/cost/prices.json has no table for %s", res.Region, e.r.Region, res.Region)
	if !slices.Contains(e.r.Assumptions, note) {
		e.r.Assumptions = append(e.r.Assumptions, note)
	}
}

func (e *estimator) add(component, item string, qty float64, unit, key string) {
	p, ok := e.t.Prices[key]
	if !ok {
		if !e.missing[e.region+key] {
			e.missing[e.region+key] = true
			e.r.Unpriced = append(e.r.Unpriced, fmt.Sprintf("%s: no price %q for %s in internal/cost/prices.json", item, key, e.region))
		}
		return
	}
	e.r.Lines = append(e.r.Lines, Line{Component: component, Item: item, Quantity: qty, Unit: unit, UnitUSD: p.USD,
		MonthlyUSD: qty * p.USD, Unchecked: !p.Verified})
}

// Estimate prices the resources in region with the usage assumptions.
func Estimate(region string, resources []Resource, u Usage) (*Report, error) {
	t, err := TableFor(region)
	if err != nil {
		return nil, err
	}
	r := &Report{Region: region, Prices: t.Source, Assumptions: []string{}, Lines: []Line{}, Unpriced: []string{}}
	e := &estimator{t: t, u: u, r: r, missing: map[string]bool{}}
	sorted := slices.Clone(resources)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Type+sorted[i].Name < sorted[j].Type+sorted[j].Name })
	retain, copies := snapshotPolicy(sorted)
	cloudflare := 0
	for _, res := range sorted {
		e.in(res, t)
		switch res.Type {
		case "aws:ec2/instance:Instance":
			typ := str(res.Inputs, "instanceType")
			e.add("instances", res.Name+" ("+typ+")", HoursPerMonth, "hours", "ec2:"+typ)
			if gib := num(obj(res.Inputs, "rootBlockDevice"), "volumeSize"); gib > 0 {
				e.add("ebs volumes", res.Name+" root", gib, "GB-month", "ebs:gp3:gb-month")
			}
		case "aws:ebs/volume:Volume":
			gib := num(res.Inputs, "size")
			e.add("ebs volumes", res.Name, gib, "GB-month", "ebs:"+strOr(res.Inputs, "type", "gp3")+":gb-month")
			if retain > 0 && backedUp(res) {
				// The first snapshot holds the used blocks; each later one
				// the blocks changed since.
				stored := gib * u.VolumeFill * (1 + u.DailyChange*float64(retain-1))
				e.add("snapshots", res.Name+fmt.Sprintf(" (%d kept)", retain), stored, "GB-month", "ebs:snapshot:gb-month")
				for _, to := range copies {
					e.add("snapshots", res.Name+" copy in "+to, stored, "GB-month", "ebs:snapshot:gb-month")
					e.add("data transfer", res.Name+" daily copy to "+to, gib*u.VolumeFill*u.DailyChange*30, "GB", "transfer:inter-region-gb")
				}
			}
		case "aws:ec2/natGateway:NatGateway":
			e.add("nat gateways", res.Name, HoursPerMonth, "hours", "nat:hour")
			e.add("nat gateways", res.Name+" data", u.NATGBPerGateway, "GB", "nat:gb")
		case "aws:ec2/eip:Eip":
			e.add("public ipv4", res.Name, HoursPerMonth, "hours", "ipv4:hour")
		case "aws:lb/loadBalancer:LoadBalancer":
			e.add("load balancer", res.Name, HoursPerMonth, "hours", "alb:hour")
			e.add("load balancer", res.Name+" LCUs", u.ALBLCU*HoursPerMonth, "LCU-hours", "alb:lcu-hour")
			if b, _ := res.Inputs["internal"].(bool); !b {
				// An internet-facing ALB holds a public IPv4 address per zone.
				n := float64(len(list(res.Inputs, "subnets")))
				e.add("public ipv4", res.Name+fmt.Sprintf(" (%0.f zones)", n), n*HoursPerMonth, "hours", "ipv4:hour")
				e.add("data transfer", res.Name+" out to the internet", u.EgressGB, "GB", "transfer:internet-gb")
			}
		case "aws:route53/zone:Zone":
			e.add("dns", res.Name, 1, "zone-month", "route53:zone-month")
		case "aws:route53/healthCheck:HealthCheck":
			e.add("dns", res.Name, 1, "check-month", "route53:healthcheck-month")
		case "aws:cloudwatch/logGroup:LogGroup":
			days := num(res.Inputs, "retentionInDays")
			e.add("cloudwatch", res.Name+" ingestion", u.LogGBPerGroup, "GB", "logs:ingest-gb")
			// Steady state: the days kept, in months, of a month's intake.
			e.add("cloudwatch", res.Name+fmt.Sprintf(" storage (%0.f days)", days), u.LogGBPerGroup*days/30, "GB-month", "logs:storage-gb-month")
		case "aws:cloudwatch/metricAlarm:MetricAlarm":
			e.add("cloudwatch", "alarms", 1, "alarm-month", "cloudwatch:alarm-month")
		case "aws:kms/key:Key":
			e.add("kms", res.Name, 1, "key-month", "kms:key-month")
		case "aws:wafv2/webAcl:WebAcl":
			e.add("waf", res.Name, 1, "acl-month", "waf:acl-month")
			e.add("waf", res.Name+" rules", float64(wafRules(res)), "rule-month", "waf:rule-month")
			e.add("waf", res.Name+" requests", u.WAFRequestsMillions, "million requests", "waf:requests-million")
		case "aws:amp/workspace:Workspace":
			samples := u.AMPSamplesPerSecond * HoursPerMonth * 3600
			// Ingestion is tiered: the first tier's samples, then the rest.
			first := samples
			if limit, ok := e.t.Prices["amp:tier1-samples-limit"]; ok && samples > limit.USD {
				first = limit.USD
				e.add("amp", res.Name+" ingestion beyond the first tier", (samples-first)/1e7, "10M samples", "amp:samples-10m-tier2")
			}
			e.add("amp", res.Name+" ingestion", first/1e7, "10M samples", "amp:samples-10m-tier1")
			// Steady state after the retention AMP keeps (150 days by default).
			e.add("amp", res.Name+" storage", samples*u.AMPBytesPerSample*5/1e9, "GB-month", "amp:storage-gb-month")
		case "aws:grafana/workspace:Workspace":
			// AMG bills every workspace at least one editor license.
			e.add("grafana", res.Name+" (1 editor)", 1, "editor-month", "grafana:editor-month")
		default:
			if strings.HasPrefix(res.Type, "cloudflare:") {
				cloudflare++
			}
		}
	}
	if cloudflare > 0 {
		r.Unpriced = append(r.Unpriced, fmt.Sprintf("%d Cloudflare resources: billed by your Cloudflare plan", cloudflare))
	}
	byComponent := map[string]float64{}
	for _, l := range r.Lines {
		byComponent[l.Component] += l.MonthlyUSD
		r.TotalUSD += l.MonthlyUSD
	}
	for _, c := range slices.Sorted(maps.Keys(byComponent)) {
		r.Components = append(r.Components, Line{Component: c, MonthlyUSD: byComponent[c]})
		if a := u.assumption(c); a != "" {
			r.Assumptions = append(r.Assumptions, a)
		}
	}
	// Alarms priced one line each: fold them into one.
	r.Lines = fold(r.Lines)
	sort.SliceStable(r.Lines, func(i, j int) bool { return r.Lines[i].Component < r.Lines[j].Component })
	return r, nil
}

// fold merges lines of the same component and item (the alarms).
func fold(lines []Line) []Line {
	var out []Line
	at := map[string]int{}
	for _, l := range lines {
		k := l.Component + "\x00" + l.Item
		if i, ok := at[k]; ok {
			out[i].Quantity += l.Quantity
			out[i].MonthlyUSD += l.MonthlyUSD
			continue
		}
		at[k] = len(out)
		out = append(out, l)
	}
	return out
}

// snapshotPolicy reads the DLM policy: snapshots kept, and the regions
// they are copied to.
func snapshotPolicy(rs []Resource) (retain int, copies []string) {
	for _, r := range rs {
		if r.Type != "aws:dlm/lifecyclePolicy:LifecyclePolicy" {
			continue
		}
		for _, s := range list(obj(r.Inputs, "policyDetails"), "schedules") {
			sm, _ := s.(map[string]any)
			retain = int(num(obj(sm, "retainRule"), "count"))
			for _, c := range list(sm, "crossRegionCopyRules") {
				cm, _ := c.(map[string]any)
				copies = append(copies, str(cm, "target"))
			}
		}
	}
	return retain, copies
}

// wafRules counts a web ACL's rules, given inline or as ruleJson.
func wafRules(r Resource) int {
	if rules := list(r.Inputs, "rules"); len(rules) > 0 {
		return len(rules)
	}
	var rules []any
	if err := json.Unmarshal([]byte(str(r.Inputs, "ruleJson")), &rules); err != nil {
		return 0
	}
	return len(rules)
}

func backedUp(r Resource) bool {
	tags, _ := r.Inputs["tags"].(map[string]any)
	return tags[contract.TagBackup] == "true"
}

func obj(m map[string]any, k string) map[string]any { v, _ := m[k].(map[string]any); return v }
func list(m map[string]any, k string) []any         { v, _ := m[k].([]any); return v }
func str(m map[string]any, k string) string         { v, _ := m[k].(string); return v }
func strOr(m map[string]any, k, def string) string {
	if v := str(m, k); v != "" {
		return v
	}
	return def
}
func num(m map[string]any, k string) float64 {
	switch v := m[k].(type) {
	case float64:
		return v
	case int:
		return float64(v)
	}
	return 0
}
