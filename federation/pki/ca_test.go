package pki

import (
	"crypto/x509"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

const (
	county   = "330102000000"
	township = "330102001000"
)

func TestInitCAAndIssueNode(t *testing.T) {
	caDir := filepath.Join(t.TempDir(), "ca")
	if err := InitCA(caDir, "Test County CA"); err != nil {
		t.Fatalf("InitCA: %v", err)
	}
	checkMode(t, filepath.Join(caDir, CAKeyFile), 0o600)

	if err := InitCA(caDir, "again"); !errors.Is(err, ErrCAExists) {
		t.Fatalf("second InitCA = %v, want ErrCAExists", err)
	}
	ca, err := LoadCA(caDir)
	if err != nil {
		t.Fatalf("LoadCA: %v", err)
	}
	caCert := ca.Certificate()
	if !caCert.IsCA || caCert.Subject.CommonName != "Test County CA" {
		t.Fatalf("CA certificate: IsCA %v, CN %q", caCert.IsCA, caCert.Subject.CommonName)
	}
	if life := caCert.NotAfter.Sub(caCert.NotBefore); life < 10*365*24*time.Hour {
		t.Fatalf("CA valid for %v, want 10 years", life)
	}

	out := filepath.Join(t.TempDir(), "node")
	id := Identity{Office: county, Node: "yizhan-0"}
	hosts := []string{"yizhan-0.yizhan.county.svc", "10.1.2.3", "[fd00::1]", "localhost"}
	if err := IssueNode(caDir, id, hosts, out); err != nil {
		t.Fatalf("IssueNode: %v", err)
	}
	checkMode(t, filepath.Join(out, NodeKeyFile), 0o600)

	b, err := Load(filepath.Join(out, NodeCertFile), filepath.Join(out, NodeKeyFile), filepath.Join(out, CACertFile))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if b.Identity != id {
		t.Fatalf("Identity = %+v, want %+v", b.Identity, id)
	}
	leaf := b.Leaf
	if leaf.PublicKeyAlgorithm != x509.Ed25519 || caCert.PublicKeyAlgorithm != x509.Ed25519 {
		t.Fatalf("keys: node %v, CA %v; want Ed25519", leaf.PublicKeyAlgorithm, caCert.PublicKeyAlgorithm)
	}
	if !slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageServerAuth) || !slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageClientAuth) {
		t.Fatalf("ExtKeyUsage = %v, want server and client auth", leaf.ExtKeyUsage)
	}
	if want := []string{"localhost", "yizhan-0.yizhan.county.svc"}; !slices.Equal(leaf.DNSNames, want) {
		t.Fatalf("DNSNames = %v, want %v", leaf.DNSNames, want)
	}
	var ips []string
	for _, ip := range leaf.IPAddresses {
		ips = append(ips, ip.String())
	}
	if want := []string{"127.0.0.1", "10.1.2.3", "fd00::1"}; !slices.Equal(ips, want) {
		t.Fatalf("IPAddresses = %v, want %v", ips, want)
	}
	if life := leaf.NotAfter.Sub(leaf.NotBefore); life < 2*365*24*time.Hour || life > 2*366*24*time.Hour {
		t.Fatalf("node certificate valid for %v, want 2 years", life)
	}
	for _, name := range []string{"localhost", "127.0.0.1", "10.1.2.3"} {
		if err := leaf.VerifyHostname(name); err != nil {
			t.Errorf("VerifyHostname(%q): %v", name, err)
		}
	}

	// Renewal replaces the files.
	if err := IssueNode(caDir, id, nil, out); err != nil {
		t.Fatalf("IssueNode again: %v", err)
	}
	b2, err := Load(filepath.Join(out, NodeCertFile), filepath.Join(out, NodeKeyFile), filepath.Join(out, CACertFile))
	if err != nil {
		t.Fatalf("Load renewed: %v", err)
	}
	if b2.Leaf.SerialNumber.Cmp(leaf.SerialNumber) == 0 {
		t.Fatal("renewed certificate has the old serial number")
	}
}

func TestIssueRefusesBadInput(t *testing.T) {
	ca := NewTestCA(t)
	tests := []struct {
		name  string
		id    Identity
		hosts []string
		err   error
	}{
		{name: "no office", id: Identity{}, err: ErrBadIdentity},
		{name: "bad office", id: Identity{Office: "33"}, err: ErrBadIdentity},
		{name: "bad node", id: Identity{Office: county, Node: "a/b"}, err: ErrBadIdentity},
		{name: "host with port", id: Identity{Office: county}, hosts: []string{"node1:7000"}, err: ErrBadHost},
		{name: "host with space", id: Identity{Office: county}, hosts: []string{"a b"}, err: ErrBadHost},
		{name: "empty host", id: Identity{Office: county}, hosts: []string{""}, err: ErrBadHost},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := ca.Issue(tt.id, tt.hosts); !errors.Is(err, tt.err) {
				t.Fatalf("Issue = %v, want %v", err, tt.err)
			}
		})
	}
}

func TestLoadPEMRefuses(t *testing.T) {
	ca := NewTestCA(t)
	other := NewTestCA(t)
	certPEM, keyPEM, err := ca.Issue(Identity{Office: county}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, otherKey, err := ca.Issue(Identity{Office: county}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name                string
		certPEM, keyPEM, ca []byte
		err                 error
	}{
		{name: "another CA", certPEM: certPEM, keyPEM: keyPEM, ca: other.CertPEM(), err: ErrUntrusted},
		{name: "key of another certificate", certPEM: certPEM, keyPEM: otherKey, ca: ca.CertPEM(), err: ErrBadPEM},
		{name: "no CA", certPEM: certPEM, keyPEM: keyPEM, ca: nil, err: ErrBadPEM},
		{name: "CA file holds a key", certPEM: certPEM, keyPEM: keyPEM, ca: keyPEM, err: ErrBadPEM},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := LoadPEM(tt.certPEM, tt.keyPEM, tt.ca); !errors.Is(err, tt.err) {
				t.Fatalf("LoadPEM = %v, want %v", err, tt.err)
			}
		})
	}
}

func TestParseCARefusesMismatchedKey(t *testing.T) {
	a := NewTestCA(t)
	dir := t.TempDir()
	if err := InitCA(dir, "x"); err != nil {
		t.Fatal(err)
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, CAKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseCA(a.CertPEM(), keyPEM); !errors.Is(err, ErrBadPEM) {
		t.Fatalf("ParseCA with another CA's key = %v, want ErrBadPEM", err)
	}
}

func TestSplitHosts(t *testing.T) {
	dns, ips, err := splitHosts([]string{"Node1.Example.", "127.0.0.1", "::1", "node1.example", "*.svc"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"localhost", "node1.example", "*.svc"}; !slices.Equal(dns, want) {
		t.Fatalf("dns = %v, want %v", dns, want)
	}
	if len(ips) != 2 || !ips[0].Equal(net.IPv4(127, 0, 0, 1)) || !ips[1].Equal(net.IPv6loopback) {
		t.Fatalf("ips = %v", ips)
	}
}

func checkMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Fatalf("%s has mode %v, want %v", path, got, want)
	}
}
