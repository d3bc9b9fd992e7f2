package pki

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"time"
)

// Bundle is what a node holds to speak for its office: its certificate and
// key, the county CA it trusts, and the identity its certificate names.
// Build it with Load or LoadPEM; treat the fields as read-only.
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
}

// Load reads a node's certificate (leaf first, then any intermediates),
// key and CA certificate from PEM files: the node.crt, node.key and ca.crt
// IssueNode writes, or the tls.crt, tls.key and ca.crt of a cert-manager
// secret.
func Load(certFile, keyFile, caFile string) (*Bundle, error) {
	var pems [3][]byte
	for i, f := range []string{certFile, keyFile, caFile} {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("pki: load bundle: %w", err)
		}
		pems[i] = b
	}
	b, err := LoadPEM(pems[0], pems[1], pems[2])
	if err != nil {
		return nil, fmt.Errorf("%w (files %s, %s, %s)", err, certFile, keyFile, caFile)
	}
	return b, nil
}

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

// Signer returns the node's private key. Other code signs staff tokens with
// it; VerifyChain checks the certificate those tokens embed.
func (b *Bundle) Signer() crypto.Signer { return b.signer }

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
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{b.Certificate},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    b.CAs,
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
	cert := b.Certificate
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		// Always offer the node certificate, whatever CA names the
		// server lists.
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return &cert, nil
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
