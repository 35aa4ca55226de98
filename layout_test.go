package main

import (
	"testing"

	"github.com/promfed/promfed/internal/testmocks"
)

// Growing the stack only adds: at azCount 3, and with one more zone in the
// region's list, every subnet, instance and volume of the azCount 2 stack
// exists under the same name with the same replacing inputs.
func TestGrowingZonesOnlyAdds(t *testing.T) {
	run := func(m *testmocks.Mocks, azCount string) *testmocks.Mocks {
		t.Helper()
		cfg, secrets := stackConfig(t, "prod")
		cfg["promfed:azCount"] = azCount
		out, err := testmocks.RunOn(m, "promfed", "prod", cfg, secrets, program)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	base := run(&testmocks.Mocks{}, "2")
	for name, grown := range map[string]*testmocks.Mocks{
		"azCount 3":                       run(&testmocks.Mocks{}, "3"),
		"azCount 3, a fourth zone listed": run(&testmocks.Mocks{Zones: []string{"eu-west-1a", "eu-west-1b", "eu-west-1c", "eu-west-1d"}}, "3"),
	} {
		if r := replaced(base, grown); len(r) != 0 {
			t.Errorf("%s replaces %v", name, r)
		}
		if n := len(base.OfType("aws:ec2/instance:Instance")) + len(base.OfType("aws:ebs/volume:Volume")); n < 10 {
			t.Errorf("only %d instances and volumes compared", n)
		}
		if len(grown.OfType("aws:ec2/subnet:Subnet")) != 6 {
			t.Errorf("%s: %d subnets, want 6", name, len(grown.OfType("aws:ec2/subnet:Subnet")))
		}
	}
}
