package certificate

import (
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/promfed/promfed/internal/testmocks"
)

// The validator sees ACM's record, and validation waits on the name it
// returns: that is the whole contract a DNS provider implements.
func TestValidatorContract(t *testing.T) {
	var gotName string
	m, err := testmocks.Run("promfed", "dev", nil, nil, func(ctx *pulumi.Context) error {
		_, err := NewCertificate(ctx, "cert", &Args{
			Domain: "prometheus.example.com",
			Validator: func(ctx *pulumi.Context, name string, rec Record, opts ...pulumi.ResourceOption) (pulumi.StringOutput, error) {
				gotName = name
				return pulumi.Sprintf("%s|%s|%s", rec.Name, rec.Type, rec.Value), nil
			},
			Tags: map[string]string{"promfed:stack": "dev"},
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if gotName != "cert-validation" {
		t.Errorf("validator called with %q", gotName)
	}
	fqdns := m.Named(t, "aws:acm/certificateValidation:CertificateValidation", "cert").Get("validationRecordFqdns").([]any)
	if len(fqdns) != 1 || fqdns[0] != "_abc.prometheus.example.com.|CNAME|_xyz.acm-validations.aws." {
		t.Errorf("validation waits on %v", fqdns)
	}
	c := m.Named(t, "aws:acm/certificate:Certificate", "cert")
	if c.Str("domainName") != "prometheus.example.com" || c.Str("validationMethod") != "DNS" || c.Tags()["promfed:stack"] != "dev" {
		t.Errorf("certificate %v", c.Inputs)
	}
}
