package pki

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const seed = "0123456789abcdef0123456789abcdef-test-seed"

func mustNew(t *testing.T, stack string) *Deriver {
	t.Helper()
	d, err := New(seed, stack)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestShortSeedRefused(t *testing.T) {
	if _, err := New("short", "dev"); err == nil || !strings.Contains(err.Error(), "at least 32") {
		t.Fatalf("want a seed length error, got %v", err)
	}
}

func TestDerivationIsStableAndScoped(t *testing.T) {
	a, b := mustNew(t, "dev"), mustNew(t, "dev")
	if a.HostKey("primary") != b.HostKey("primary") {
		t.Fatal("the same seed and host gave different host keys")
	}
	if a.HostKey("primary").PublicKey == a.HostKey("secondary-1").PublicKey {
		t.Fatal("two hosts share a host key")
	}
	if a.HostKey("primary").PublicKey == mustNew(t, "prod").HostKey("primary").PublicKey {
		t.Fatal("two stacks share a host key")
	}
	caA, _ := a.CA()
	caB, _ := b.CA()
	if caA.PEM != caB.PEM {
		t.Fatal("CA certificate is not deterministic")
	}
	ca, _ := a.CA()
	p1, _ := a.ServerCert(ca, "primary", "primary.dev.promfed.internal")
	p2, _ := b.ServerCert(ca, "primary", "primary.dev.promfed.internal")
	if p1 != p2 {
		t.Fatal("server certificate is not deterministic")
	}
}

// ssh-keygen must accept the hand-encoded private key and derive the same
// public key from it: that is what sshd and the SSH client will do.
func TestOpenSSHKeyAcceptedBySSHKeygen(t *testing.T) {
	keygen, err := exec.LookPath("ssh-keygen")
	if err != nil {
		t.Fatal("ssh-keygen is required (apt-get install openssh-client)")
	}
	k := mustNew(t, "dev").HostKey("primary")
	path := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(path, []byte(k.PrivateKey), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(keygen, "-y", "-f", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh-keygen -y refused the key: %v: %s", err, out)
	}
	gotFields, wantFields := strings.Fields(string(out)), strings.Fields(k.PublicKey)
	if gotFields[0] != wantFields[0] || gotFields[1] != wantFields[1] {
		t.Fatalf("ssh-keygen derived %q, want %q", out, k.PublicKey)
	}
}

func TestServerCertVerifiesAgainstCA(t *testing.T) {
	d := mustNew(t, "dev")
	ca, err := d.CA()
	if err != nil {
		t.Fatal(err)
	}
	pair, err := d.ServerCert(ca, "secondary-1", "secondary-1.dev.promfed.internal")
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(ca.PEM)) {
		t.Fatal("CA PEM did not parse")
	}
	block, _ := pem.Decode([]byte(pair.CertPEM))
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"secondary-1.dev.promfed.internal", "localhost", "127.0.0.1"} {
		if _, err := cert.Verify(x509.VerifyOptions{DNSName: name, Roots: pool, CurrentTime: notBefore.AddDate(1, 0, 0), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
			t.Errorf("certificate does not verify for %s: %v", name, err)
		}
	}
	if _, err := cert.Verify(x509.VerifyOptions{DNSName: "primary.dev.promfed.internal", Roots: pool, CurrentTime: notBefore.AddDate(1, 0, 0)}); err == nil {
		t.Error("secondary-1's certificate verified for the primary's name")
	}
	kb, _ := pem.Decode([]byte(pair.KeyPEM))
	if _, err := x509.ParsePKCS8PrivateKey(kb.Bytes); err != nil || kb.Type != "PRIVATE KEY" {
		t.Errorf("key is not PKCS#8 (%s): %v", kb.Type, err)
	}
}

func TestBcryptSaltShape(t *testing.T) {
	d := mustNew(t, "dev")
	s := d.BcryptSalt("web")
	if len(s) != 22 || !strings.ContainsRune(".Oeu", rune(s[21])) {
		t.Fatalf("salt %q is not a canonical 22-character bcrypt salt", s)
	}
	if s != d.BcryptSalt("web") || s == d.BcryptSalt("other") {
		t.Fatal("salt is not stable per purpose")
	}
}
