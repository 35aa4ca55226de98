// Package pki derives every key and certificate the stack needs from one
// secret seed. Derivation is deterministic, so re-running the program renders
// byte-identical material: nothing is replaced and no host is re-provisioned
// unless the seed or a host name changes. Host keys are known before a host
// boots, which is what lets SSH pin them instead of trusting on first use.
package pki

import (
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/binary"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"time"
)

// Certificates carry fixed validity dates: derived from the seed alone, they
// must not depend on when the program runs. Rotate by changing the seed.
var (
	notBefore = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	notAfter  = time.Date(2035, 1, 1, 0, 0, 0, 0, time.UTC)
)

// Deriver derives named keys from a seed, scoped to one stack.
type Deriver struct {
	seed  []byte
	stack string
}

// New returns a Deriver; seed must be at least 32 bytes.
func New(seed, stack string) (*Deriver, error) {
	if len(seed) < 32 {
		return nil, fmt.Errorf("pki: seed has %d bytes, at least 32 are required", len(seed))
	}
	return &Deriver{seed: []byte(seed), stack: stack}, nil
}

func (d *Deriver) bytes(purpose string, n int) []byte {
	out, err := hkdf.Key(sha256.New, d.seed, []byte("promfed/"+d.stack), purpose, n)
	if err != nil {
		panic(err) // only for n larger than HKDF allows; callers ask for at most 32
	}
	return out
}

func (d *Deriver) ed25519(purpose string) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(d.bytes(purpose, ed25519.SeedSize))
}

// SSHKey is an Ed25519 key in OpenSSH formats.
type SSHKey struct {
	PrivateKey string // OpenSSH private key format, in PEM
	PublicKey  string // "ssh-ed25519 AAAA... comment"
}

// HostKey is the SSH host key of the named host (for example "primary" or
// "bastion").
func (d *Deriver) HostKey(host string) SSHKey {
	return d.sshKey("ssh-host/"+host, host)
}

// ClientKey is the key the provisioning commands log in with.
func (d *Deriver) ClientKey() SSHKey {
	return d.sshKey("ssh-client", "promfed-provisioner")
}

func (d *Deriver) sshKey(purpose, comment string) SSHKey {
	key := d.ed25519(purpose)
	pub := key.Public().(ed25519.PublicKey)
	blob := sshString(nil, []byte("ssh-ed25519"))
	blob = sshString(blob, pub)
	check := binary.BigEndian.Uint32(d.bytes(purpose+"/check", 4))
	return SSHKey{
		PrivateKey: string(pem.EncodeToMemory(&pem.Block{Type: "OPENSSH PRIVATE KEY", Bytes: openSSHPrivate(blob, key, check, comment)})),
		PublicKey:  "ssh-ed25519 " + base64.StdEncoding.EncodeToString(blob) + " " + comment,
	}
}

// openSSHPrivate encodes an unencrypted openssh-key-v1 file. The check word
// is derived rather than random (as ssh-keygen makes it) so the output is
// stable across runs.
func openSSHPrivate(pubBlob []byte, key ed25519.PrivateKey, check uint32, comment string) []byte {
	var priv []byte
	priv = binary.BigEndian.AppendUint32(priv, check)
	priv = binary.BigEndian.AppendUint32(priv, check)
	priv = sshString(priv, []byte("ssh-ed25519"))
	priv = sshString(priv, key.Public().(ed25519.PublicKey))
	priv = sshString(priv, key)
	priv = sshString(priv, []byte(comment))
	for i := byte(1); len(priv)%8 != 0; i++ {
		priv = append(priv, i)
	}
	out := append([]byte("openssh-key-v1"), 0)
	out = sshString(out, []byte("none"))
	out = sshString(out, []byte("none"))
	out = sshString(out, nil)
	out = binary.BigEndian.AppendUint32(out, 1)
	out = sshString(out, pubBlob)
	return sshString(out, priv)
}

func sshString(b, s []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s))) //nolint:gosec // keys and comments are far below 4 GiB
	return append(b, s...)
}

// CA is the stack's private certificate authority: Prometheus, node_exporter
// and the federation scrapes verify each other against it.
type CA struct {
	cert *x509.Certificate
	key  ed25519.PrivateKey
	PEM  string
}

// CA derives the stack CA.
func (d *Deriver) CA() (*CA, error) {
	key := d.ed25519("ca")
	tmpl := &x509.Certificate{
		SerialNumber:          d.serial("ca"),
		Subject:               pkix.Name{CommonName: "promfed " + d.stack + " CA", Organization: []string{"promfed"}},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(nil, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("pki: creating the CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{cert: cert, key: key, PEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))}, nil
}

// TLSPair is a PEM certificate and its PKCS#8 private key.
type TLSPair struct {
	CertPEM string
	KeyPEM  string
}

// ServerCert issues the TLS certificate of a host, valid for its private DNS
// name, localhost and 127.0.0.1, usable as server and as client.
func (d *Deriver) ServerCert(ca *CA, host, fqdn string) (TLSPair, error) {
	key := d.ed25519("tls/" + host)
	tmpl := &x509.Certificate{
		SerialNumber: d.serial("tls/" + host),
		Subject:      pkix.Name{CommonName: fqdn, Organization: []string{"promfed"}},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:     []string{fqdn, "localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(nil, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		return TLSPair{}, fmt.Errorf("pki: issuing the certificate of %s: %w", host, err)
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return TLSPair{}, err
	}
	return TLSPair{
		CertPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		KeyPEM:  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk})),
	}, nil
}

func (d *Deriver) serial(purpose string) *big.Int {
	b := d.bytes("serial/"+purpose, 16)
	b[0] &= 0x7f // positive, as RFC 5280 requires
	return new(big.Int).SetBytes(b)
}

// BcryptSalt is a stable 22-character salt in bcrypt's alphabet, so the
// password hash Ansible writes is identical on every run (idempotence).
func (d *Deriver) BcryptSalt(purpose string) string {
	const alphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	raw := d.bytes("bcrypt/"+purpose, 22)
	out := make([]byte, 22)
	for i, b := range raw {
		out[i] = alphabet[int(b)%len(alphabet)]
	}
	// bcrypt uses only the top bits of the last character: keep it in the
	// set whose low bits are zero so the salt round-trips unchanged.
	out[21] = ".Oeu"[int(raw[21])%4]
	return string(out)
}
