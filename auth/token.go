package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// A token is "yz1.<claims>.<signature>.<certificate chain>", each part
// base64url without padding. The signature is made with the issuing node's
// TLS key over "yz1.<claims>", and the chain is that node's certificate, so
// any node that trusts the county CA can check who vouched for the staff
// member without asking anyone. The issuing office is read from the
// certificate, never from the claims: a node cannot vouch beyond its office.
const tokenPrefix = "yz1"

// DefaultTokenTTL is how long a sign-in lasts: one working day.
const DefaultTokenTTL = 10 * time.Hour

var (
	// ErrUnauthenticated is returned for a missing, malformed, expired or
	// forged token.
	ErrUnauthenticated = errors.New("auth: not signed in")
	// ErrPermissionDenied is returned when the staff member may not do what
	// was asked.
	ErrPermissionDenied = errors.New("auth: permission denied")
)

// Claims is what a token says.
type Claims struct {
	Username     string `json:"sub"`
	Office       string `json:"off"` // the staff member's office when issued
	IssuerOffice string `json:"iof"` // must equal the office in the certificate
	IssuerNode   string `json:"ind"`
	IssuedAt     int64  `json:"iat"` // unix seconds
	ExpiresAt    int64  `json:"exp"` // unix seconds
}

// Issuer signs tokens with a node's key.
type Issuer struct {
	signer crypto.Signer
	chain  [][]byte // DER, leaf first
	office string
	node   string
	ttl    time.Duration
	now    func() time.Time
}

// NewIssuer returns an Issuer for the node whose key and certificate chain
// are given. now may be nil (time.Now).
func NewIssuer(signer crypto.Signer, chain [][]byte, office, node string, ttl time.Duration, now func() time.Time) *Issuer {
	if now == nil {
		now = time.Now
	}
	if ttl <= 0 {
		ttl = DefaultTokenTTL
	}
	return &Issuer{signer: signer, chain: chain, office: office, node: node, ttl: ttl, now: now}
}

// Office is the office the issuer's certificate names.
func (i *Issuer) Office() string { return i.office }

// Issue signs a token for a staff member of staffOffice.
func (i *Issuer) Issue(username, staffOffice string) (string, time.Time, error) {
	now := i.now()
	exp := now.Add(i.ttl)
	c := Claims{
		Username: username, Office: staffOffice,
		IssuerOffice: i.office, IssuerNode: i.node,
		IssuedAt: now.Unix(), ExpiresAt: exp.Unix(),
	}
	body, err := json.Marshal(c)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("auth: encode claims: %w", err)
	}
	b64 := base64.RawURLEncoding
	signed := tokenPrefix + "." + b64.EncodeToString(body)
	sig, err := i.Sign([]byte(signed))
	if err != nil {
		return "", time.Time{}, err
	}
	var chain []string
	for _, der := range i.chain {
		chain = append(chain, b64.EncodeToString(der))
	}
	return signed + "." + b64.EncodeToString(sig) + "." + strings.Join(chain, "~"), time.Unix(exp.Unix(), 0), nil
}

// Sign signs msg with the node's key (SHA-256). Other node statements,
// such as directory announcements, are signed the same way.
func (i *Issuer) Sign(msg []byte) ([]byte, error) {
	var (
		digest []byte
		opts   crypto.SignerOpts = crypto.SHA256
	)
	if _, ok := i.signer.Public().(ed25519.PublicKey); ok {
		digest, opts = msg, crypto.Hash(0)
	} else {
		sum := sha256.Sum256(msg)
		digest = sum[:]
	}
	sig, err := i.signer.Sign(rand.Reader, digest, opts)
	if err != nil {
		return nil, fmt.Errorf("auth: sign: %w", err)
	}
	return sig, nil
}

// Chain is the issuer's certificate chain, DER, leaf first.
func (i *Issuer) Chain() [][]byte { return i.chain }

// VerifySignature checks a signature made by Issuer.Sign with the key of cert.
func VerifySignature(cert *x509.Certificate, msg, sig []byte) error {
	switch pub := cert.PublicKey.(type) {
	case *ecdsa.PublicKey:
		sum := sha256.Sum256(msg)
		if ecdsa.VerifyASN1(pub, sum[:], sig) {
			return nil
		}
	case *rsa.PublicKey:
		sum := sha256.Sum256(msg)
		if rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) == nil {
			return nil
		}
	case ed25519.PublicKey:
		if ed25519.Verify(pub, msg, sig) {
			return nil
		}
	}
	return fmt.Errorf("%w: bad signature", ErrUnauthenticated)
}

// ChainVerifier checks a certificate chain against the county CA and
// returns the office the leaf certificate names.
type ChainVerifier func(chain [][]byte) (office string, leaf *x509.Certificate, err error)

// ParseAndVerify checks a token's form, signature, issuer and expiry and
// returns its claims. It does not look the staff member up: see
// Authenticator.
func ParseAndVerify(token string, verifyChain ChainVerifier, now time.Time) (*Claims, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 4 || parts[0] != tokenPrefix {
		return nil, fmt.Errorf("%w: malformed token", ErrUnauthenticated)
	}
	b64 := base64.RawURLEncoding
	body, err := b64.DecodeString(parts[1])
	if err != nil {
		return nil, fmt.Errorf("%w: malformed token claims", ErrUnauthenticated)
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil {
		return nil, fmt.Errorf("%w: malformed token signature", ErrUnauthenticated)
	}
	var chain [][]byte
	for _, p := range strings.Split(parts[3], "~") {
		der, err := b64.DecodeString(p)
		if err != nil || len(der) == 0 {
			return nil, fmt.Errorf("%w: malformed token certificate", ErrUnauthenticated)
		}
		chain = append(chain, der)
	}
	office, leaf, err := verifyChain(chain)
	if err != nil {
		return nil, fmt.Errorf("%w: issuer certificate: %v", ErrUnauthenticated, err)
	}
	if err := VerifySignature(leaf, []byte(parts[0]+"."+parts[1]), sig); err != nil {
		return nil, err
	}
	var c Claims
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("%w: malformed token claims", ErrUnauthenticated)
	}
	if c.IssuerOffice != office {
		return nil, fmt.Errorf("%w: token claims office %s but was signed by a node of %s", ErrUnauthenticated, c.IssuerOffice, office)
	}
	if now.Unix() >= c.ExpiresAt {
		return nil, fmt.Errorf("%w: token expired", ErrUnauthenticated)
	}
	if c.IssuedAt > now.Add(5*time.Minute).Unix() {
		return nil, fmt.Errorf("%w: token issued in the future", ErrUnauthenticated)
	}
	return &c, nil
}
