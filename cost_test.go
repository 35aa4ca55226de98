package main

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/promfed/promfed/internal/cost"
)

// The cost report of both stack files: every instance, volume, NAT
// gateway and the endpoint priced from the table, the total the sum of
// its lines.
func TestCostReportOfBothStacks(t *testing.T) {
	tab, err := cost.TableFor("eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	usd := func(k string) float64 { return tab.Prices[k].USD }
	for _, tc := range []struct {
		stack           string
		instances       map[string]int // type -> count
		dataGiB, retain float64
		volumes, nats   int
		waf, cloudflare bool
	}{
		{"dev", map[string]int{"t3.micro": 1, "t3.small": 2}, 20, 3, 2, 1, true, false},
		{"prod", map[string]int{"t3.micro": 1, "m6i.large": 5}, 200, 14, 5, 3, false, true},
	} {
		t.Run(tc.stack, func(t *testing.T) {
			var out bytes.Buffer
			if err := costReport(&out, ".", tc.stack, true); err != nil {
				t.Fatal(err)
			}
			var r cost.Report
			if err := json.Unmarshal(out.Bytes(), &r); err != nil {
				t.Fatal(err)
			}
			byComponent := map[string]float64{}
			for _, c := range r.Components {
				byComponent[c.Component] = c.MonthlyUSD
			}
			wantInstances := 0.0
			for typ, n := range tc.instances {
				wantInstances += float64(n) * cost.HoursPerMonth * usd("ec2:"+typ)
			}
			near := func(a, b float64) bool { return math.Abs(a-b) < 1e-6 }
			if !near(byComponent["instances"], wantInstances) {
				t.Errorf("instances %.2f, want %.2f", byComponent["instances"], wantInstances)
			}
			if want := float64(tc.nats) * (cost.HoursPerMonth*usd("nat:hour") + 20*usd("nat:gb")); !near(byComponent["nat gateways"], want) {
				t.Errorf("nat gateways %.2f, want %.2f", byComponent["nat gateways"], want)
			}
			stored := tc.dataGiB * 0.5 * (1 + 0.05*(tc.retain-1))
			if want := float64(tc.volumes) * stored * usd("ebs:snapshot:gb-month"); !near(byComponent["snapshots"], want) {
				t.Errorf("snapshots %.2f, want %.2f", byComponent["snapshots"], want)
			}
			if _, ok := byComponent["waf"]; ok != tc.waf {
				t.Errorf("waf priced: %v, want %v", ok, tc.waf)
			}
			if got := strings.Join(r.Unpriced, ";"); strings.Contains(got, "Cloudflare") != tc.cloudflare || strings.Contains(got, "no price") {
				t.Errorf("unpriced: %s", got)
			}
			sum := 0.0
			for _, c := range r.Components {
				sum += c.MonthlyUSD
			}
			if !near(sum, r.TotalUSD) || r.Region != "eu-west-1" {
				t.Errorf("total %.2f, components %.2f, region %s", r.TotalUSD, sum, r.Region)
			}
			t.Logf("%s: %.2f USD a month", tc.stack, r.TotalUSD)
		})
	}
}

// A stack without a stack file is refused, naming the file it looked for.
func TestCostReportNeedsTheStackFile(t *testing.T) {
	if err := costReport(&bytes.Buffer{}, ".", "nosuchstack", false); err == nil || !strings.Contains(err.Error(), "Pulumi.nosuchstack.yaml") {
		t.Errorf("got %v", err)
	}
}
