package hostsecrets

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/promfed/promfed/internal/testmocks"
)

func TestStoreKey(t *testing.T) {
	m, err := testmocks.Run("promfed", "prod", nil, nil, func(ctx *pulumi.Context) error {
		s, err := NewStore(ctx, "promfed-prod-host-secrets", &StoreArgs{NamePrefix: "promfed", Stack: "prod", Region: "eu-west-1",
			Tags: map[string]string{"promfed:stack": "prod"}})
		if err != nil {
			return err
		}
		if got := s.Parameter("secondary-apps-1", "ssh-host-key"); got != "/promfed/prod/secondary-apps-1/ssh-host-key" {
			t.Errorf("parameter name %q", got)
		}
		if s.Region() != "eu-west-1" {
			t.Errorf("region %q", s.Region())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	key := m.Named(t, "aws:kms/key:Key", "promfed-prod-host-secrets")
	if key.Get("enableKeyRotation") != true || key.Tags()["promfed:stack"] != "prod" {
		t.Errorf("key %v", key.Inputs)
	}
	if a := m.Named(t, "aws:kms/alias:Alias", "promfed-prod-host-secrets"); a.Str("name") != "alias/promfed-prod-host-secrets" {
		t.Errorf("alias %v", a.Inputs)
	}
}

// A host decrypts only its own parameters: the key grant is bound to the
// parameter ARNs through SSM's encryption context.
func TestReadPolicy(t *testing.T) {
	got := ReadPolicy("arn:aws:kms:eu-west-1:1:key/k", []string{"arn:aws:ssm:eu-west-1:1:parameter/promfed/dev/primary/ssh-host-key"})
	want := `{"Statement":[{"Action":["ssm:GetParameter"],"Effect":"Allow","Resource":["arn:aws:ssm:eu-west-1:1:parameter/promfed/dev/primary/ssh-host-key"],"Sid":"ReadOwnSecrets"},` +
		`{"Action":["kms:Decrypt"],"Condition":{"StringEquals":{"kms:EncryptionContext:PARAMETER_ARN":["arn:aws:ssm:eu-west-1:1:parameter/promfed/dev/primary/ssh-host-key"]}},` +
		`"Effect":"Allow","Resource":"arn:aws:kms:eu-west-1:1:key/k","Sid":"DecryptOwnSecrets"}],"Version":"2012-10-17"}`
	if got != want {
		t.Errorf("policy\n%s\nwant\n%s", got, want)
	}
	if strings.Contains(got, "*") {
		t.Error("wildcard in a host's secrets grant")
	}
}
