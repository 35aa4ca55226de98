package cost

import (
	"bytes"
	"math"
	"slices"
	"strings"
	"testing"
)

func price(t *testing.T, region, key string) float64 {
	t.Helper()
	tab, err := TableFor(region)
	if err != nil {
		t.Fatal(err)
	}
	p, ok := tab.Prices[key]
	if !ok {
		t.Fatalf("no %s in %s", key, region)
	}
	return p.USD
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func line(r *Report, item string) (Line, bool) {
	for _, l := range r.Lines {
		if l.Item == item {
			return l, true
		}
	}
	return Line{}, false
}

func TestEstimatePricesEachKind(t *testing.T) {
	rs := []Resource{
		{Type: "aws:ec2/instance:Instance", Name: "primary-a", Inputs: map[string]any{"instanceType": "m6i.large", "rootBlockDevice": map[string]any{"volumeSize": 16.0}}},
		{Type: "aws:ebs/volume:Volume", Name: "primary-a-data", Inputs: map[string]any{"size": 100.0, "type": "gp3", "tags": map[string]any{"promfed:backup": "true"}}},
		{Type: "aws:dlm/lifecyclePolicy:LifecyclePolicy", Name: "tsdb", Inputs: map[string]any{"policyDetails": map[string]any{"schedules": []any{
			map[string]any{"retainRule": map[string]any{"count": 7.0}, "crossRegionCopyRules": []any{map[string]any{"target": "us-east-1"}}}}}}},
		{Type: "aws:cloudwatch/metricAlarm:MetricAlarm", Name: "a"},
		{Type: "aws:cloudwatch/metricAlarm:MetricAlarm", Name: "b"},
		{Type: "aws:lb/loadBalancer:LoadBalancer", Name: "alb", Inputs: map[string]any{"internal": false, "subnets": []any{"s1", "s2"}}},
		{Type: "aws:wafv2/webAcl:WebAcl", Name: "waf", Inputs: map[string]any{"ruleJson": `[{"Name":"a"},{"Name":"b"},{"Name":"c"}]`}},
		{Type: "cloudflare:index/record:Record", Name: "edge"},
		{Type: "aws:grafana/workspace:Workspace", Name: "g"},
	}
	u := DefaultUsage()
	r, err := Estimate("eu-west-1", rs, u)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{
		"primary-a (m6i.large)": HoursPerMonth * price(t, "eu-west-1", "ec2:m6i.large"),
		"primary-a root":        16 * price(t, "eu-west-1", "ebs:gp3:gb-month"),
		"primary-a-data":        100 * price(t, "eu-west-1", "ebs:gp3:gb-month"),
		// 50 GB used, then 6 days of 5% changes.
		"primary-a-data (7 kept)":                50 * 1.3 * price(t, "eu-west-1", "ebs:snapshot:gb-month"),
		"primary-a-data copy in us-east-1":       50 * 1.3 * price(t, "eu-west-1", "ebs:snapshot:gb-month"),
		"primary-a-data daily copy to us-east-1": 50 * 0.05 * 30 * price(t, "eu-west-1", "transfer:inter-region-gb"),
		"alarms":                                 2 * price(t, "eu-west-1", "cloudwatch:alarm-month"),
		"alb (2 zones)":                          2 * HoursPerMonth * price(t, "eu-west-1", "ipv4:hour"),
		"alb LCUs":                               HoursPerMonth * price(t, "eu-west-1", "alb:lcu-hour"),
		"waf rules":                              3 * price(t, "eu-west-1", "waf:rule-month"),
	}
	for item, usd := range want {
		l, ok := line(r, item)
		if !ok || !near(l.MonthlyUSD, usd) {
			t.Errorf("%s: %+v (found %v), want %.4f", item, l, ok, usd)
		}
	}
	sum := 0.0
	for _, l := range r.Lines {
		sum += l.MonthlyUSD
	}
	comp := 0.0
	for _, c := range r.Components {
		comp += c.MonthlyUSD
	}
	if !near(sum, r.TotalUSD) || !near(comp, r.TotalUSD) || r.TotalUSD < 100 {
		t.Errorf("total %.2f, lines %.2f, components %.2f", r.TotalUSD, sum, comp)
	}
	if len(r.Unpriced) != 1 || r.Unpriced[0] != "1 Cloudflare resources: billed by your Cloudflare plan" {
		t.Errorf("unpriced %q", r.Unpriced)
	}
	var out bytes.Buffer
	if err := r.Print(&out); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"Monthly estimate for eu-west-1", "snapshots", "data volumes are 50% full and 5% of that changes a day", "billed by your Cloudflare plan"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("the report lacks %q:\n%s", s, out.String())
		}
	}
	if strings.Contains(out.String(), "NAT gateway processes") {
		t.Errorf("an assumption about NAT gateways without any:\n%s", out.String())
	}
}

func TestEstimateSaysWhatItCannotPrice(t *testing.T) {
	rs := []Resource{
		{Type: "aws:ec2/instance:Instance", Name: "a", Inputs: map[string]any{"instanceType": "x9.huge"}},
		{Type: "aws:ec2/instance:Instance", Name: "b", Inputs: map[string]any{"instanceType": "x9.huge"}},
	}
	r, err := Estimate("eu-west-1", rs, DefaultUsage())
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Lines) != 0 || r.TotalUSD != 0 || len(r.Unpriced) != 1 ||
		r.Unpriced[0] != `a (x9.huge): no price "ec2:x9.huge" for eu-west-1 in internal/cost/prices.json` {
		t.Errorf("lines %+v, unpriced %q", r.Lines, r.Unpriced)
	}
	if _, err := Estimate("mars-north-1", rs, DefaultUsage()); err == nil ||
		!strings.Contains(err.Error(), "no price table for region mars-north-1 in internal/cost/prices.json (it has ") {
		t.Errorf("unknown region: %v", err)
	}
}

// Every region's table prices what the stacks are made of, with a source
// and a date for each price.
func TestPriceTablesAreComplete(t *testing.T) {
	need := []string{"ec2:t3.micro", "ec2:t3.small", "ec2:m6i.large", "ebs:gp3:gb-month", "ebs:snapshot:gb-month",
		"nat:hour", "nat:gb", "ipv4:hour", "alb:hour", "alb:lcu-hour", "route53:zone-month", "logs:ingest-gb",
		"logs:storage-gb-month", "cloudwatch:alarm-month", "kms:key-month", "waf:acl-month", "waf:rule-month",
		"waf:requests-million", "amp:samples-10m-tier1", "amp:storage-gb-month", "transfer:internet-gb", "transfer:inter-region-gb"}
	for _, region := range []string{"eu-west-1", "us-east-1"} {
		tab, err := TableFor(region)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range need {
			p, ok := tab.Prices[k]
			if !ok || p.USD <= 0 || p.Source == "" || p.Date == "" {
				t.Errorf("%s %s: %+v", region, k, p)
			}
		}
	}
}

// A resource of another region is priced at that region's prices, or at
// the report's, said so, when the file has no table for it.
func TestEstimatePricesEachRegion(t *testing.T) {
	rs := []Resource{
		{Type: "aws:ec2/instance:Instance", Name: "home", Inputs: map[string]any{"instanceType": "t3.medium"}},
		{Type: "aws:ec2/instance:Instance", Name: "virginia", Inputs: map[string]any{"instanceType": "t3.medium"}, Region: "us-east-1"},
		{Type: "aws:ec2/instance:Instance", Name: "mumbai", Inputs: map[string]any{"instanceType": "t3.medium"}, Region: "ap-south-1"},
	}
	r, err := Estimate("eu-west-1", rs, DefaultUsage())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, l := range r.Lines {
		got[l.Item] = l.UnitUSD
	}
	if got["home (t3.medium)"] != 0.0456 || got["virginia (t3.medium)"] != 0.0416 || got["mumbai (t3.medium)"] != 0.0456 {
		t.Errorf("unit prices %v", got)
	}
	want := "resources in ap-south-1 are priced at eu-west-1 prices: internal/cost/prices.json has no table for ap-south-1"
	if !slices.Contains(r.Assumptions, want) {
		t.Errorf("assumptions %q", r.Assumptions)
	}
}
