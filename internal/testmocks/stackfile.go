package testmocks

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"gopkg.in/yaml.v3"
)

// StackFile reads Pulumi.<stack>.yaml in dir as the engine hands it to a
// program: plain values as strings, lists and objects as JSON. Keys whose
// value is stored encrypted (`secure:`) cannot be read here; they are
// returned in encrypted, without a value.
func StackFile(dir, stack string) (values map[string]string, encrypted []string, err error) {
	raw, err := os.ReadFile(filepath.Join(dir, "Pulumi."+stack+".yaml"))
	if err != nil {
		return nil, nil, err
	}
	var doc struct {
		Config map[string]any `yaml:"config"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, nil, fmt.Errorf("reading the stack file of %s: %w", stack, err)
	}
	values = map[string]string{}
	for k, v := range doc.Config {
		switch x := v.(type) {
		case string:
			values[k] = x
		case map[string]any:
			if _, ok := x["secure"]; ok && len(x) == 1 {
				encrypted = append(encrypted, k)
				continue
			}
			b, _ := json.Marshal(x)
			values[k] = string(b)
		default:
			b, _ := json.Marshal(x)
			values[k] = string(b)
		}
	}
	return values, encrypted, nil
}

// OriginPull returns a throwaway origin-pull CA, a client certificate it
// signed (clientAuth, valid for an hour) and the certificate's key, all PEM:
// stand-ins for what an operator sets on a Cloudflare stack.
func OriginPull() (caPEM, certPEM, keyPEM string, err error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", "", err
	}
	now := time.Now()
	caT := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "origin-pull CA"}, NotBefore: now, NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caT, caT, caKey.Public(), caKey)
	if err != nil {
		return "", "", "", err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return "", "", "", err
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", "", err
	}
	lt := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "cloudflare"}, NotBefore: now, NotAfter: now.Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, lt, caCert, k.Public(), caKey)
	if err != nil {
		return "", "", "", err
	}
	pk, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return "", "", "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})),
		string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk})), nil
}
