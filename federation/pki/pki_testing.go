package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"testing"
)

// NewTestCA returns an in-memory CA for tests of any package.
func NewTestCA(tb testing.TB) *CA {
	tb.Helper()
	ca, err := GenerateCA("test county CA")
	if err != nil {
		tb.Fatalf("pki: test CA: %v", err)
	}
	return ca
}

// NewTestBundle issues a certificate for id (valid for localhost and
// 127.0.0.1, and hosts) from ca and returns it as a Bundle.
func NewTestBundle(tb testing.TB, ca *CA, id Identity, hosts ...string) *Bundle {
	tb.Helper()
	certPEM, keyPEM, err := ca.Issue(id, hosts)
	if err != nil {
		tb.Fatalf("pki: issue test certificate for %s: %v", id, err)
	}
	return loadTestBundle(tb, ca, id, certPEM, keyPEM)
}

// NewTestBundleECDSA is NewTestBundle with an ECDSA P-256 key, as releases
// before Ed25519 keys issued them (and as cert-manager may): such nodes
// go on working beside the new ones.
func NewTestBundleECDSA(tb testing.TB, ca *CA, id Identity) *Bundle {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	dnsNames, ips, err := splitHosts(nil)
	if err != nil {
		tb.Fatal(err)
	}
	certPEM, keyPEM, err := ca.issue(id, dnsNames, ips, key)
	if err != nil {
		tb.Fatalf("pki: issue test certificate for %s: %v", id, err)
	}
	return loadTestBundle(tb, ca, id, certPEM, keyPEM)
}

func loadTestBundle(tb testing.TB, ca *CA, id Identity, certPEM, keyPEM []byte) *Bundle {
	tb.Helper()
	b, err := LoadPEM(certPEM, keyPEM, ca.CertPEM())
	if err != nil {
		tb.Fatalf("pki: load test bundle for %s: %v", id, err)
	}
	return b
}
