// Package pki issues and checks the county's certificates: a CA per county,
// and node certificates that name the office (and optionally the node)
// they serve.
package pki

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Errors of the package. Callers test them with errors.Is.
var (
	// ErrNoIdentity: the certificate carries no spiffe:// URI SAN.
	ErrNoIdentity = errors.New("pki: certificate names no office")
	// ErrBadIdentity: an identity or its URI is malformed.
	ErrBadIdentity = errors.New("pki: malformed identity")
	// ErrWrongOffice: the peer's certificate names another office than the
	// one expected.
	ErrWrongOffice = errors.New("pki: certificate names another office")
	// ErrUntrusted: a certificate does not chain to the county CA, has
	// expired, or lacks the key usage asked for.
	ErrUntrusted = errors.New("pki: certificate not trusted")
	// ErrCAExists: InitCA found a CA in the directory already.
	ErrCAExists = errors.New("pki: CA already exists")
	// ErrNoPeer: the call carries no verified TLS client certificate.
	ErrNoPeer = errors.New("pki: no verified TLS peer")
	// ErrBadPEM: a PEM input holds no certificate or key of a usable kind.
	ErrBadPEM = errors.New("pki: bad PEM")
	// ErrBadHost: a host name given for a certificate is neither an IP
	// address nor a DNS name.
	ErrBadHost = errors.New("pki: bad host name")
)

// TrustDomain is the SPIFFE trust domain of every Yizhan identity.
const TrustDomain = "yizhan"

// Identity is what a certificate says its holder is: a node serving Office,
// the 12-digit division code. Node names one node; it is empty in a
// certificate shared by every node of the office (one cert-manager
// certificate for a Kubernetes StatefulSet).
type Identity struct {
	Office string
	Node   string
}

// URI returns spiffe://yizhan/office/<office>[/node/<node>].
func (id Identity) URI() *url.URL {
	p := "/office/" + id.Office
	if id.Node != "" {
		p += "/node/" + id.Node
	}
	return &url.URL{Scheme: "spiffe", Host: TrustDomain, Path: p}
}

// String returns the URI as text.
func (id Identity) String() string { return id.URI().String() }

// Validate checks that Office is 12 digits and Node, if set, a name of 1 to
// 63 letters, digits, '.', '_' or '-' starting with a letter or digit.
func (id Identity) Validate() error {
	if !ValidOffice(id.Office) {
		return fmt.Errorf("%w: office %q is not a 12-digit division code", ErrBadIdentity, id.Office)
	}
	if id.Node != "" && !validNode(id.Node) {
		return fmt.Errorf("%w: node name %q", ErrBadIdentity, id.Node)
	}
	return nil
}

// ValidOffice reports whether code is a 12-digit division code.
func ValidOffice(code string) bool {
	if len(code) != 12 {
		return false
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return false
		}
	}
	return true
}

func validNode(name string) bool {
	if len(name) == 0 || len(name) > 63 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '.' && c != '_' && c != '-') {
			return false
		}
	}
	return true
}

// ParseIdentity reads an identity from its URI. It refuses anything but
// spiffe://yizhan/office/<12 digits> and .../node/<name>: no port, user,
// query, fragment or percent-encoding.
func ParseIdentity(u *url.URL) (Identity, error) {
	bad := func(why string) (Identity, error) {
		return Identity{}, fmt.Errorf("%w: %s: %q", ErrBadIdentity, why, u.String())
	}
	switch {
	case u.Scheme != "spiffe":
		return bad("scheme is not spiffe")
	case u.Host != TrustDomain:
		return bad("trust domain is not " + TrustDomain)
	case u.Opaque != "" || u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.RawFragment != "":
		return bad("unexpected URI parts")
	case u.RawPath != "" && u.RawPath != u.Path:
		return bad("escaped path")
	}
	parts := strings.Split(u.Path, "/")
	var id Identity
	switch {
	case len(parts) == 3 && parts[0] == "" && parts[1] == "office":
		id = Identity{Office: parts[2]}
	case len(parts) == 5 && parts[0] == "" && parts[1] == "office" && parts[3] == "node":
		id = Identity{Office: parts[2], Node: parts[4]}
		if id.Node == "" {
			return bad("empty node name")
		}
	default:
		return bad("path is not /office/<code>[/node/<name>]")
	}
	if err := id.Validate(); err != nil {
		return Identity{}, err
	}
	return id, nil
}

// IdentityFromCert returns the identity in cert's URI SAN. The certificate
// must carry exactly one spiffe:// URI (other URI schemes are ignored). It
// does not verify the certificate: use it on verified chains only.
func IdentityFromCert(cert *x509.Certificate) (Identity, error) {
	var found *url.URL
	for _, u := range cert.URIs {
		if u.Scheme != "spiffe" {
			continue
		}
		if found != nil {
			return Identity{}, fmt.Errorf("%w: certificate %q has several SPIFFE IDs", ErrBadIdentity, cert.Subject.CommonName)
		}
		found = u
	}
	if found == nil {
		return Identity{}, fmt.Errorf("%w: certificate %q", ErrNoIdentity, cert.Subject.CommonName)
	}
	return ParseIdentity(found)
}
