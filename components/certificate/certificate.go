// Package certificate provides the Certificate component: an ACM certificate
// for the public name, validated by DNS in whichever provider holds the
// zone (Route53 or Cloudflare), which plugs in as a Validator.
package certificate

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/acm"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/promfed/promfed/internal/tagging"
)

// Record is the DNS record ACM asks for.
type Record struct {
	Name, Type, Value pulumi.StringOutput
}

// Validator creates rec in the zone's DNS provider and returns its name.
type Validator func(ctx *pulumi.Context, name string, rec Record, opts ...pulumi.ResourceOption) (pulumi.StringOutput, error)

// Args configures the certificate.
type Args struct {
	Domain    string
	Validator Validator
	Tags      map[string]string
}

// Certificate is an issued, validated certificate.
type Certificate struct {
	pulumi.ResourceState

	// Arn resolves only once validation succeeded, so listeners that use
	// it never serve an unvalidated certificate.
	Arn pulumi.StringOutput
}

// NewCertificate requests and validates the certificate.
func NewCertificate(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Certificate, error) {
	c := &Certificate{}
	if err := ctx.RegisterComponentResource("promfed:certificate:Certificate", name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)
	cert, err := acm.NewCertificate(ctx, name, &acm.CertificateArgs{
		DomainName: pulumi.String(args.Domain), ValidationMethod: pulumi.String("DNS"),
		KeyAlgorithm: pulumi.String("EC_prime256v1"),
		Tags:         tagging.Named(args.Tags, name),
	}, parent)
	if err != nil {
		return nil, err
	}
	opt := cert.DomainValidationOptions.Index(pulumi.Int(0))
	fqdn, err := args.Validator(ctx, name+"-validation", Record{
		Name:  opt.ResourceRecordName().Elem(),
		Type:  opt.ResourceRecordType().Elem(),
		Value: opt.ResourceRecordValue().Elem(),
	}, parent)
	if err != nil {
		return nil, err
	}
	validation, err := acm.NewCertificateValidation(ctx, name, &acm.CertificateValidationArgs{
		CertificateArn: cert.Arn, ValidationRecordFqdns: pulumi.StringArray{fqdn},
	}, parent)
	if err != nil {
		return nil, err
	}
	c.Arn = validation.CertificateArn
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{"arn": c.Arn})
}
