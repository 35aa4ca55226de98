package config

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"fmt"
)

// CheckOriginPull validates the authenticated-origin-pull material: the CA
// the ALB will trust, the client certificate Cloudflare will present, and its
// key. A mismatch here would only surface as every request failing at the
// ALB, so it is caught before anything is deployed.
func CheckOriginPull(caPEM, certPEM, keyPEM string) error {
	if caPEM == "" || certPEM == "" || keyPEM == "" {
		return fmt.Errorf("originPullCa, originPullCertificate and originPullPrivateKey are all required when dnsProvider is cloudflare (authenticated origin pulls); see docs/endpoint.md")
	}
	ca, err := parseCert("originPullCa", caPEM)
	if err != nil {
		return err
	}
	if !ca.IsCA {
		return fmt.Errorf("originPullCa %q is not a CA certificate (basicConstraints CA:TRUE is missing)", ca.Subject)
	}
	leaf, err := parseCert("originPullCertificate", certPEM)
	if err != nil {
		return err
	}
	if err := leaf.CheckSignatureFrom(ca); err != nil {
		return fmt.Errorf("originPullCertificate %q is not signed by originPullCa %q: %w", leaf.Subject, ca.Subject, err)
	}
	clientAuth := false
	for _, u := range leaf.ExtKeyUsage {
		clientAuth = clientAuth || u == x509.ExtKeyUsageClientAuth || u == x509.ExtKeyUsageAny
	}
	if !clientAuth {
		return fmt.Errorf("originPullCertificate %q lacks the clientAuth extended key usage, so the ALB would refuse it", leaf.Subject)
	}
	block, _ := pem.Decode([]byte(keyPEM))
	if block == nil {
		return fmt.Errorf("originPullPrivateKey is not PEM (value hidden: it is a secret)")
	}
	key, err := parsePrivateKey(block.Bytes)
	if err != nil {
		return fmt.Errorf("originPullPrivateKey cannot be parsed as PKCS#8, PKCS#1 or EC key (value hidden): %w", err)
	}
	type publicKeyer interface{ Public() crypto.PublicKey }
	pk, ok := key.(publicKeyer)
	if !ok {
		return fmt.Errorf("originPullPrivateKey has an unsupported key type %T", key)
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	if eq, ok := pk.Public().(equaler); !ok || !eq.Equal(leaf.PublicKey) {
		return fmt.Errorf("originPullPrivateKey does not match the public key of originPullCertificate %q", leaf.Subject)
	}
	return nil
}

func parseCert(key, s string) (*x509.Certificate, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%s is not a PEM certificate (expected a \"-----BEGIN CERTIFICATE-----\" block)", key)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s cannot be parsed: %w", key, err)
	}
	return cert, nil
}

func parsePrivateKey(der []byte) (any, error) {
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	return x509.ParseECPrivateKey(der)
}
