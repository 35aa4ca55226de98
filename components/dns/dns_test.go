package dns

import (
	"fmt"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/promfed/promfed/components/certificate"
	"github.com/promfed/promfed/internal/testmocks"
)

func TestPrivateZoneNamesEveryHost(t *testing.T) {
	var fqdns map[string]string
	m, err := testmocks.Run("promfed", "dev", nil, nil, func(ctx *pulumi.Context) error {
		z, err := NewPrivateZone(ctx, "internal", &PrivateZoneArgs{
			Zone: "dev.promfed.internal", VpcID: pulumi.String("vpc-1"),
			Hosts: []HostRecord{{"primary", pulumi.String("10.40.2.10")}, {"secondary-1", pulumi.String("10.40.3.11")}},
			Tags:  map[string]string{"promfed:stack": "dev"},
		})
		if err == nil {
			fqdns = z.Fqdns
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	zone := m.Named(t, "aws:route53/zone:Zone", "internal")
	vpcs := zone.Get("vpcs").([]any)
	if zone.Str("name") != "dev.promfed.internal" || len(vpcs) != 1 || vpcs[0].(map[string]any)["vpcId"] != "vpc-1" {
		t.Errorf("zone %v", zone.Inputs)
	}
	for host, ip := range map[string]string{"primary": "10.40.2.10", "secondary-1": "10.40.3.11"} {
		r := m.Named(t, "aws:route53/record:Record", "internal-"+host)
		recs := r.Get("records").([]any)
		if r.Str("name") != host+".dev.promfed.internal" || r.Str("type") != "A" || len(recs) != 1 || recs[0] != ip {
			t.Errorf("%s record %v", host, r.Inputs)
		}
		if fqdns[host] != host+".dev.promfed.internal" {
			t.Errorf("Fqdns[%s] = %q", host, fqdns[host])
		}
	}
}

func TestPublicAliasAndValidation(t *testing.T) {
	m, err := testmocks.Run("promfed", "dev", nil, nil, func(ctx *pulumi.Context) error {
		if _, err := NewPublicRecords(ctx, "endpoint", &PublicRecordsArgs{
			ZoneID: "Z0123456789EXAMPLE", Domain: "prometheus.example.com", AlbDNS: pulumi.String("alb-1.elb.amazonaws.com"), AlbZoneID: pulumi.String("Z32O12XQLNTSW2"),
		}); err != nil {
			return err
		}
		_, err := certificate.NewCertificate(ctx, "cert", &certificate.Args{
			Domain: "prometheus.example.com", Validator: Validator("Z0123456789EXAMPLE"), Tags: map[string]string{"promfed:stack": "dev"},
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	alias := m.Named(t, "aws:route53/record:Record", "endpoint")
	a := alias.Get("aliases").([]any)[0].(map[string]any)
	if alias.Str("type") != "A" || a["name"] != "alb-1.elb.amazonaws.com" || a["zoneId"] != "Z32O12XQLNTSW2" || a["evaluateTargetHealth"] != true {
		t.Errorf("alias %v", alias.Inputs)
	}
	v := m.Named(t, "aws:route53/record:Record", "cert-validation")
	if v.Str("name") != "_abc.prometheus.example.com." || v.Str("type") != "CNAME" || v.Str("zoneId") != "Z0123456789EXAMPLE" {
		t.Errorf("validation record %v", v.Inputs)
	}
	cv := m.Named(t, "aws:acm/certificateValidation:CertificateValidation", "cert")
	if fq := cv.Get("validationRecordFqdns").([]any); len(fq) != 1 {
		t.Errorf("certificate validation waits on %v", fq)
	}
	if c := m.Named(t, "aws:acm/certificate:Certificate", "cert"); c.Str("validationMethod") != "DNS" || c.Parent == "" {
		t.Errorf("certificate %v", c.Inputs)
	}
}

// A VPC of another region resolves the host names too: associated with
// its region named, as Route53 needs for a VPC outside the zone's region.
func TestPrivateZoneInOtherRegions(t *testing.T) {
	m, err := testmocks.Run("promfed", "dev", nil, nil, func(ctx *pulumi.Context) error {
		_, err := NewPrivateZone(ctx, "internal", &PrivateZoneArgs{
			Zone: "dev.promfed.internal", VpcID: pulumi.String("vpc-1"), PeerVpcIDs: []string{"vpc-peer"},
			RegionVpcs: []RegionVpc{{Region: "us-east-1", VpcID: pulumi.String("vpc-us")}},
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(m.Named(t, "aws:route53/zone:Zone", "internal").Get("vpcs"))
	if got != "[map[vpcId:vpc-1] map[vpcId:vpc-peer] map[vpcId:vpc-us vpcRegion:us-east-1]]" {
		t.Errorf("associations %s", got)
	}
}
