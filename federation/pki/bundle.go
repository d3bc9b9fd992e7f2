package pki

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Bundle is what a node holds to speak for its office: its certificate and
// key, the county CA it trusts, and the identity its certificate names.
// Build it with Load or LoadPEM; treat the fields as read-only. The fields
// are the certificate as loaded; a bundle loaded from files takes a
// renewed certificate and key from them (Reload), and what it presents,
// signs with and tells (ServerConfig, ClientConfig, Keys, NotAfter) is
// then the renewed one: cert-manager renews a node's certificate in its
// Secret every 60 days without restarting the pod.
type Bundle struct {
	// Certificate is the node's chain (leaf first) and private key.
	Certificate tls.Certificate
	// Leaf is the parsed node certificate.
	Leaf *x509.Certificate
	// CAs holds the county CA certificate(s) the node trusts.
	CAs *x509.CertPool
	// Identity is the office (and node) that Leaf names.
	Identity Identity

	signer crypto.Signer

	files   [3]string // cert, key, CA: where Reload reads (Load)
	current atomic.Pointer[keyPair]
	mu      sync.Mutex   // serialises Reload
	stamps  [3]fileStamp // the files as last read
}

// keyPair is the certificate and key a bundle uses now.
type keyPair struct {
	cert   tls.Certificate
	signer crypto.Signer
}

// fileStamp tells a file changed: its size and modification time.
type fileStamp struct {
	size    int64
	modTime time.Time
}

// Load reads a node's certificate (leaf first, then any intermediates),
// key and CA certificate from PEM files: the node.crt, node.key and ca.crt
// IssueNode writes, or the tls.crt, tls.key and ca.crt of a cert-manager
// secret.
func Load(certFile, keyFile, caFile string) (*Bundle, error) {
	files := [3]string{certFile, keyFile, caFile}
	pems, stamps, err := readFiles(files)
	if err != nil {
		return nil, err
	}
	b, err := LoadPEM(pems[0], pems[1], pems[2])
	if err != nil {
		return nil, fmt.Errorf("%w (files %s, %s, %s)", err, certFile, keyFile, caFile)
	}
	b.files, b.stamps = files, stamps
	return b, nil
}

// readFiles reads the bundle's files and notes their stamps.
func readFiles(files [3]string) (pems [3][]byte, stamps [3]fileStamp, err error) {
	for i, f := range files {
		info, err := os.Stat(f)
		if err != nil {
			return pems, stamps, fmt.Errorf("pki: load bundle: %w", err)
		}
		if pems[i], err = os.ReadFile(f); err != nil {
			return pems, stamps, fmt.Errorf("pki: load bundle: %w", err)
		}
		stamps[i] = fileStamp{size: info.Size(), modTime: info.ModTime()}
	}
	return pems, stamps, nil
}

// Reload reads the bundle's files again when they changed since last
// read, and uses the certificate and key in them from then on: the
// certificate renewed, of the same office and node and the same CA. A
// bundle not loaded from files, or files unchanged, changes nothing
// (false); files that do not make a good bundle (half written, of
// another office) are refused and the bundle keeps what it has.
func (b *Bundle) Reload() (bool, error) {
	if b.files[0] == "" {
		return false, nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	changed := false
	for i, f := range b.files {
		info, err := os.Stat(f)
		if err != nil {
			return false, fmt.Errorf("pki: reload: %w", err)
		}
		if (fileStamp{size: info.Size(), modTime: info.ModTime()}) != b.stamps[i] {
			changed = true
		}
	}
	if !changed {
		return false, nil
	}
	pems, stamps, err := readFiles(b.files)
	if err != nil {
		return false, err
	}
	next, err := LoadPEM(pems[0], pems[1], pems[2])
	if err != nil {
		return false, fmt.Errorf("pki: reload %s: %w", b.files[0], err)
	}
	if next.Identity != b.Identity {
		return false, fmt.Errorf("pki: reload %s: the renewed certificate names %s, not %s: kept the one in use", b.files[0], next.Identity, b.Identity)
	}
	if _, _, err := b.verify(next.Certificate.Certificate, x509.ExtKeyUsageClientAuth, time.Now()); err != nil {
		return false, fmt.Errorf("pki: reload %s: the renewed certificate is not of the CA in use (a new CA needs a restart): %w", b.files[0], err)
	}
	b.stamps = stamps
	b.current.Store(&keyPair{cert: next.Certificate, signer: next.signer})
	return true, nil
}

// keys is the certificate and key in use.
func (b *Bundle) keys() *keyPair {
	if k := b.current.Load(); k != nil {
		return k
	}
	k := &keyPair{cert: b.Certificate, signer: b.signer}
	b.current.CompareAndSwap(nil, k)
	return b.current.Load()
}

// Keys is the key the node signs with now and the certificate chain
// (DER, leaf first) that proves it: one pair, so that a signature made
// across a Reload is never sent with the other key's chain.
func (b *Bundle) Keys() (crypto.Signer, [][]byte) {
	k := b.keys()
	return k.signer, k.cert.Certificate
}

// NotAfter is when the certificate in use expires.
func (b *Bundle) NotAfter() time.Time { return b.keys().cert.Leaf.NotAfter }

// LoadPEM builds a bundle from PEM bytes. It checks that the key matches the
// certificate, that the certificate chains to the CA for both server and
// client authentication, and that it names an office.
func LoadPEM(certPEM, keyPEM, caPEM []byte) (*Bundle, error) {
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%w: node certificate and key: %w", ErrBadPEM, err)
	}
	signer, ok := cert.PrivateKey.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%w: node key of type %T cannot sign", ErrBadPEM, cert.PrivateKey)
	}
	cas, err := parseCerts(caPEM)
	if err != nil {
		return nil, fmt.Errorf("pki: CA certificate: %w", err)
	}
	pool := x509.NewCertPool()
	for _, c := range cas {
		pool.AddCert(c)
	}
	b := &Bundle{Certificate: cert, CAs: pool, signer: signer}
	for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
		id, leaf, err := b.verify(cert.Certificate, usage, time.Now())
		if err != nil {
			return nil, fmt.Errorf("pki: own certificate: %w", err)
		}
		b.Identity, b.Leaf = id, leaf
	}
	b.Certificate.Leaf = b.Leaf
	return b, nil
}

// Signer returns the node's private key in use (Keys, for a signature
// sent with its chain). VerifyChain checks the certificate signatures
// embed.
func (b *Bundle) Signer() crypto.Signer { return b.keys().signer }

// VerifyChain verifies a DER chain (leaf first, then intermediates) against
// the county CA, for client authentication, now, and returns the identity
// the leaf names.
func (b *Bundle) VerifyChain(certDER [][]byte) (Identity, *x509.Certificate, error) {
	return b.verify(certDER, x509.ExtKeyUsageClientAuth, time.Now())
}

func (b *Bundle) verify(certDER [][]byte, usage x509.ExtKeyUsage, now time.Time) (Identity, *x509.Certificate, error) {
	return verifyChain(b.CAs, certDER, usage, now)
}

// VerifyChainAt verifies a node's DER chain (leaf first) against roots,
// the county CA, at time at, without a node certificate of one's own (a
// record checked away from the federation: `yizhan verify-export`), and
// returns the identity the leaf names.
func VerifyChainAt(roots *x509.CertPool, certDER [][]byte, at time.Time) (Identity, *x509.Certificate, error) {
	return verifyChain(roots, certDER, x509.ExtKeyUsageClientAuth, at)
}

func verifyChain(roots *x509.CertPool, certDER [][]byte, usage x509.ExtKeyUsage, now time.Time) (Identity, *x509.Certificate, error) {
	if len(certDER) == 0 {
		return Identity{}, nil, fmt.Errorf("%w: no certificate", ErrUntrusted)
	}
	certs := make([]*x509.Certificate, len(certDER))
	for i, der := range certDER {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return Identity{}, nil, fmt.Errorf("%w: %w", ErrUntrusted, err)
		}
		certs[i] = c
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	leaf := certs[0]
	if leaf.IsCA {
		return Identity{}, nil, fmt.Errorf("%w: %q is a CA, not a node", ErrUntrusted, leaf.Subject.CommonName)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{usage},
	}); err != nil {
		return Identity{}, nil, fmt.Errorf("%w: %q: %w", ErrUntrusted, leaf.Subject.CommonName, err)
	}
	id, err := IdentityFromCert(leaf)
	if err != nil {
		return Identity{}, nil, err
	}
	return id, leaf, nil
}

// ServerConfig returns a TLS 1.3 server configuration that presents the
// node's certificate and requires a client certificate from the county CA
// naming a valid identity, of any office (the caller decides what each
// office may do: PeerIdentity).
func (b *Bundle) ServerConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		// The certificate in use at each handshake (Reload).
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return &b.keys().cert, nil
		},
		ClientAuth: tls.RequireAndVerifyClientCert,
		ClientCAs:  b.CAs,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.VerifiedChains) == 0 || len(cs.VerifiedChains[0]) == 0 {
				return fmt.Errorf("%w: no verified client chain", ErrUntrusted)
			}
			leaf := cs.VerifiedChains[0][0]
			if leaf.IsCA {
				return fmt.Errorf("%w: client %q is a CA, not a node", ErrUntrusted, leaf.Subject.CommonName)
			}
			_, err := IdentityFromCert(leaf)
			return err
		},
	}
}

// ClientConfig returns a TLS 1.3 client configuration that presents the
// node's certificate and verifies the server's chain against the county
// CA. Nodes are dialled by IP address or by names that change with the
// deployment, so the host name is not checked: the identity in the
// certificate is. If expectOffice is not empty, a server whose certificate
// names another office is refused with ErrWrongOffice.
func (b *Bundle) ClientConfig(expectOffice string) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		// Always offer the node certificate in use (Reload), whatever CA
		// names the server lists.
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return &b.keys().cert, nil
		},
		RootCAs: b.CAs,
		// The standard verification would match the host name; the chain
		// and the identity are verified in VerifyConnection instead. The
		// handshake still proves the server holds the certificate's key.
		InsecureSkipVerify: true, //nolint:gosec // verified in VerifyConnection
		VerifyConnection: func(cs tls.ConnectionState) error {
			der := make([][]byte, len(cs.PeerCertificates))
			for i, c := range cs.PeerCertificates {
				der[i] = c.Raw
			}
			id, _, err := b.verify(der, x509.ExtKeyUsageServerAuth, time.Now())
			if err != nil {
				return fmt.Errorf("server certificate: %w", err)
			}
			if expectOffice != "" && id.Office != expectOffice {
				return fmt.Errorf("%w: server is %s, want office %s", ErrWrongOffice, id, expectOffice)
			}
			return nil
		},
	}
}
