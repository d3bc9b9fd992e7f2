package auth

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/yizhan-gov/yizhan/reason"
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
	ErrUnauthenticated error = reason.New(reason.Unauthenticated, "auth: not signed in")
	// ErrPasswordChange is returned for a staff member whose password an
	// admin reset: no sign-in, and no token of before, until it is changed.
	ErrPasswordChange error = reason.New(reason.PasswordChange, "auth: the password must be changed first")
	// ErrPermissionDenied is returned when the staff member may not do what
	// was asked.
	ErrPermissionDenied error = reason.New(reason.PermissionDenied, "auth: permission denied")
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

// issuedBefore reports whether the token was issued in a second before
// t's: before the password was set (a token of the second of the change
// passes: see Issuer.IssueAfter). The claims carry no new field: a node
// of the previous release refuses claims it does not know, and tokens go
// between offices of different releases during an upgrade.
func (c *Claims) issuedBefore(t time.Time) bool { return c.IssuedAt < t.Unix() }

// Issuer signs tokens, and the node's other statements, with a node's
// key.
type Issuer struct {
	keys   KeySource
	office string
	node   string
	ttl    time.Duration
	now    func() time.Time
}

// KeySource gives the key a node signs with now and the certificate chain
// (DER, leaf first) that proves it, as one pair: a node's certificate is
// renewed while it runs (pki.Bundle.Reload).
type KeySource interface {
	Keys() (crypto.Signer, [][]byte)
}

// fixedKeys is a KeySource that never changes.
type fixedKeys struct {
	signer crypto.Signer
	chain  [][]byte
}

func (k fixedKeys) Keys() (crypto.Signer, [][]byte) { return k.signer, k.chain }

// NewIssuer returns an Issuer for the node whose key and certificate chain
// are given. now may be nil (time.Now).
func NewIssuer(signer crypto.Signer, chain [][]byte, office, node string, ttl time.Duration, now func() time.Time) *Issuer {
	return NewIssuerFrom(fixedKeys{signer, chain}, office, node, ttl, now)
}

// NewIssuerFrom returns an Issuer that signs with the key keys gives at
// each signature (a renewed certificate's from then on).
func NewIssuerFrom(keys KeySource, office, node string, ttl time.Duration, now func() time.Time) *Issuer {
	if now == nil {
		now = time.Now
	}
	if ttl <= 0 {
		ttl = DefaultTokenTTL
	}
	return &Issuer{keys: keys, office: office, node: node, ttl: ttl, now: now}
}

// Office is the office the issuer's certificate names.
func (i *Issuer) Office() string { return i.office }

// Issue signs a token for a staff member of staffOffice.
func (i *Issuer) Issue(username, staffOffice string) (string, time.Time, error) {
	return i.IssueAfter(username, staffOffice, time.Time{})
}

// IssueAfter is Issue for an account whose password was set at
// changedAt (StaffMember.password_changed_at): the token is issued in the
// second of the change or later (the check refuses one of an earlier
// second, Authenticator.Authenticate), even by a node whose clock is
// behind the county's, which stamped the change.
func (i *Issuer) IssueAfter(username, staffOffice string, changedAt time.Time) (string, time.Time, error) {
	now := i.now()
	if !changedAt.IsZero() && now.Unix() < changedAt.Unix() {
		now = time.Unix(changedAt.Unix(), 0)
	}
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
	sig, derChain, err := i.SignChain([]byte(signed))
	if err != nil {
		return "", time.Time{}, err
	}
	var chain []string
	for _, der := range derChain {
		chain = append(chain, b64.EncodeToString(der))
	}
	return signed + "." + b64.EncodeToString(sig) + "." + strings.Join(chain, "~"), time.Unix(exp.Unix(), 0), nil
}

// Sign signs msg with the node's key (SHA-256). Other node statements,
// such as directory announcements, are signed the same way; one sent with
// the chain that proves it is signed with SignChain.
func (i *Issuer) Sign(msg []byte) ([]byte, error) {
	sig, _, err := i.SignChain(msg)
	return sig, err
}

// SignChain signs msg as Sign does, and returns the certificate chain of
// the key that signed it (DER, leaf first).
func (i *Issuer) SignChain(msg []byte) ([]byte, [][]byte, error) {
	signer, chain := i.keys.Keys()
	var (
		digest []byte
		opts   crypto.SignerOpts = crypto.SHA256
	)
	if _, ok := signer.Public().(ed25519.PublicKey); ok {
		digest, opts = msg, crypto.Hash(0)
	} else {
		sum := sha256.Sum256(msg)
		digest = sum[:]
	}
	sig, err := signer.Sign(rand.Reader, digest, opts)
	if err != nil {
		return nil, nil, fmt.Errorf("auth: sign: %w", err)
	}
	return sig, chain, nil
}

// Chain is the issuer's certificate chain in use, DER, leaf first.
func (i *Issuer) Chain() [][]byte {
	_, chain := i.keys.Keys()
	return chain
}

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

// DefaultMaxTokenTTL is the longest lifetime (expiry minus issue time) a
// verifier accepts when it is not told otherwise, whatever lifetime the
// issuing node gave the token: a node key, stolen or misconfigured, cannot
// mint a token that outlives a day.
const DefaultMaxTokenTTL = 24 * time.Hour

// ClockSkew is how far in the future a token's issue time may lie: the
// clocks of the county's nodes are not exactly alike.
const ClockSkew = 5 * time.Minute

// maxTokenLen bounds what is parsed at all: a token is about a kilobyte
// (claims and one or two certificates).
const maxTokenLen = 16 << 10

// parsedToken is a token split into its parts, nothing checked yet but
// its form.
type parsedToken struct {
	signed []byte   // "yz1.<claims>": what the signature covers
	claims Claims   // decoded, unknown fields refused
	sig    []byte   // the signature
	chain  [][]byte // DER certificates, leaf first
}

// parseToken splits and decodes a token without checking its signature,
// certificate or times.
func parseToken(token string) (*parsedToken, error) {
	if len(token) > maxTokenLen {
		return nil, fmt.Errorf("%w: token too long", ErrUnauthenticated)
	}
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
	if err != nil || len(sig) == 0 {
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
	t := &parsedToken{signed: []byte(parts[0] + "." + parts[1]), sig: sig, chain: chain}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t.claims); err != nil || dec.More() {
		return nil, fmt.Errorf("%w: malformed token claims", ErrUnauthenticated)
	}
	return t, nil
}

// checkTimes checks a token's issue and expiry times at now: issued (not
// later than ClockSkew from now), not expired, and a lifetime of at most
// maxTTL whatever the issuer chose.
func (c *Claims) checkTimes(now time.Time, maxTTL time.Duration) error {
	if maxTTL <= 0 {
		maxTTL = DefaultMaxTokenTTL
	}
	// Both times positive and in order, so that the lifetime below cannot
	// overflow.
	if c.IssuedAt <= 0 || c.ExpiresAt <= c.IssuedAt {
		return fmt.Errorf("%w: token times out of order (issued %d, expires %d)", ErrUnauthenticated, c.IssuedAt, c.ExpiresAt)
	}
	if life := c.ExpiresAt - c.IssuedAt; life > int64(maxTTL/time.Second) {
		return fmt.Errorf("%w: token lasts %s, longer than the %s accepted", ErrUnauthenticated, time.Duration(life)*time.Second, maxTTL)
	}
	if c.IssuedAt > now.Add(ClockSkew).Unix() {
		return fmt.Errorf("%w: token issued in the future", ErrUnauthenticated)
	}
	if now.Unix() >= c.ExpiresAt {
		return fmt.Errorf("%w: token expired", ErrUnauthenticated)
	}
	return nil
}

// ParseAndVerify checks a token's form, signature, issuer and times and
// returns its claims. A token whose lifetime (expiry minus issue time) is
// longer than maxTTL (<= 0: DefaultMaxTokenTTL) is refused, whatever the
// node that signed it meant. It does not look the staff member up: see
// Authenticator.
func ParseAndVerify(token string, verifyChain ChainVerifier, now time.Time, maxTTL time.Duration) (*Claims, error) {
	c, _, err := parseAndVerify(token, verifyChain, now, maxTTL)
	return c, err
}

// parseAndVerify is ParseAndVerify, also returning when the signing
// certificate expires.
func parseAndVerify(token string, verifyChain ChainVerifier, now time.Time, maxTTL time.Duration) (*Claims, time.Time, error) {
	t, err := parseToken(token)
	if err != nil {
		return nil, time.Time{}, err
	}
	office, leaf, err := verifyChain(t.chain)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("%w: issuer certificate: %v", ErrUnauthenticated, err)
	}
	if err := VerifySignature(leaf, t.signed, t.sig); err != nil {
		return nil, time.Time{}, err
	}
	c := &t.claims
	if c.IssuerOffice != office {
		return nil, time.Time{}, fmt.Errorf("%w: token claims office %s but was signed by a node of %s", ErrUnauthenticated, c.IssuerOffice, office)
	}
	if err := c.checkTimes(now, maxTTL); err != nil {
		return nil, time.Time{}, err
	}
	return c, leaf.NotAfter, nil
}
