package pki

import "testing"

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
	b, err := LoadPEM(certPEM, keyPEM, ca.CertPEM())
	if err != nil {
		tb.Fatalf("pki: load test bundle for %s: %v", id, err)
	}
	return b
}
