package main

import (
	"slices"
	"testing"

	"github.com/promfed/promfed/internal/testmocks"
)

// replacing lists, per resource type, the inputs whose change makes AWS
// replace the resource (the provider marks them ForceNew): a subnet's
// range and zone, an instance's subnet and image, a volume's zone and
// source snapshot.
var replacing = map[string][]string{
	"aws:ec2/subnet:Subnet":     {"cidrBlock", "availabilityZone", "vpcId"},
	"aws:ec2/instance:Instance": {"subnetId", "availabilityZone", "ami"},
	"aws:ebs/volume:Volume":     {"availabilityZone", "snapshotId", "encrypted"},
}

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
		checked := 0
		for typ, props := range replacing {
			for _, old := range base.OfType(typ) {
				i := slices.IndexFunc(grown.OfType(typ), func(r testmocks.Resource) bool { return r.Name == old.Name })
				if i < 0 {
					t.Errorf("%s: %s %s is gone", name, typ, old.Name)
					continue
				}
				now := grown.OfType(typ)[i]
				for _, p := range props {
					if old.Str(p) != now.Str(p) {
						t.Errorf("%s: %s %s changes %s from %q to %q (a replacement)", name, typ, old.Name, p, old.Str(p), now.Str(p))
					}
				}
				checked++
			}
		}
		if checked < 12 {
			t.Errorf("%s: only %d resources compared", name, checked)
		}
		if len(grown.OfType("aws:ec2/subnet:Subnet")) != 6 {
			t.Errorf("%s: %d subnets, want 6", name, len(grown.OfType("aws:ec2/subnet:Subnet")))
		}
	}
}
