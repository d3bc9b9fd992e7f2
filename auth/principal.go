package auth

import (
	"context"
	"crypto/sha256"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/metadata"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// Principal is a signed-in staff member as the registry knows them now.
type Principal struct {
	Username     string
	Name         string
	Office       string
	Department   string
	Roles        []yizhanv1.Role
	IssuerOffice string
	ExpiresAt    time.Time
	// Token is the bearer token the principal presented; forwarded
	// requests carry it so that the receiving office checks it itself.
	Token string
}

// Has reports whether the principal holds role.
func (p *Principal) Has(role yizhanv1.Role) bool { return slices.Contains(p.Roles, role) }

// StaffDirectory is the part of the registry the authenticator reads.
// StaffMember may answer the registry's own record, not a copy: the
// authenticator only reads it.
type StaffDirectory interface {
	StaffMember(username string) (*yizhanv1.StaffMember, bool)
}

// Authenticator turns a bearer token into a Principal, checking the token
// and then the registry: the account must exist and be enabled, and the
// issuing office must be the staff member's office or one above it.
type Authenticator struct {
	Staff       StaffDirectory
	VerifyChain ChainVerifier
	// CanSignIn reports whether a node of signerOffice may vouch for staff
	// of staffOffice.
	CanSignIn func(signerOffice, staffOffice string) bool
	Now       func() time.Time
	// MaxTTL is the longest token lifetime accepted (expiry minus issue
	// time), whatever the signing node chose; <= 0: DefaultMaxTokenTTL.
	MaxTTL time.Duration
	// Starting, when set, is asked when a token names an account the
	// directory does not hold: a node still applying its office's log
	// after a start may not know an account created meanwhile, and its
	// error (retryable) answers then instead of ErrUnauthenticated.
	Starting func() error

	verified verifiedTokens
}

// verifiedTokensFor is how long a token's signature, once verified, is
// taken as verified, and never past its signing certificate's expiry. A
// certificate's verdict can so be taken for up to this much longer than
// the chain cache's 10 minutes (node.go) say.
const verifiedTokensFor = 5 * time.Minute

// maxVerifiedTokens bounds the cache: past it, it starts again empty.
const maxVerifiedTokens = 10_000

// verifiedTokens remembers the claims of tokens whose chain and signature
// were verified: a P-256 signature check costs about 100 µs, on every
// request of a signed-in user otherwise. The times and the registry are
// still checked on each use.
type verifiedTokens struct {
	mu sync.Mutex
	m  map[[sha256.Size]byte]verifiedToken
}

type verifiedToken struct {
	claims Claims
	until  time.Time
}

func (v *verifiedTokens) get(token string, now time.Time) (Claims, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	e, ok := v.m[sha256.Sum256([]byte(token))]
	if !ok || now.After(e.until) {
		return Claims{}, false
	}
	return e.claims, true
}

func (v *verifiedTokens) put(token string, c Claims, now, certExpires time.Time) {
	until := now.Add(verifiedTokensFor)
	if certExpires.Before(until) {
		until = certExpires
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.m == nil || len(v.m) >= maxVerifiedTokens {
		v.m = map[[sha256.Size]byte]verifiedToken{}
	}
	v.m[sha256.Sum256([]byte(token))] = verifiedToken{claims: c, until: until}
}

// BearerToken returns the bearer token of an incoming call, or "".
func BearerToken(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	for _, v := range md.Get("authorization") {
		if tok, ok := strings.CutPrefix(v, "Bearer "); ok {
			return strings.TrimSpace(tok)
		}
		if tok, ok := strings.CutPrefix(v, "bearer "); ok {
			return strings.TrimSpace(tok)
		}
	}
	return ""
}

// Authenticate checks a token. An empty token is ErrUnauthenticated.
func (a *Authenticator) Authenticate(token string) (*Principal, error) {
	if token == "" {
		return nil, fmt.Errorf("%w: no bearer token", ErrUnauthenticated)
	}
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	at := now()
	var c *Claims
	if cached, ok := a.verified.get(token, at); ok {
		if err := cached.checkTimes(at, a.MaxTTL); err != nil {
			return nil, err
		}
		c = &cached
	} else {
		verified, certExpires, err := parseAndVerify(token, a.VerifyChain, at, a.MaxTTL)
		if err != nil {
			return nil, err
		}
		a.verified.put(token, *verified, at, certExpires)
		c = verified
	}
	s, ok := a.Staff.StaffMember(c.Username)
	if !ok {
		if a.Starting != nil {
			if err := a.Starting(); err != nil {
				return nil, err
			}
		}
		return nil, fmt.Errorf("%w: unknown staff account %q", ErrUnauthenticated, c.Username)
	}
	if s.GetDisabled() {
		return nil, fmt.Errorf("%w: staff account %q is disabled", ErrUnauthenticated, c.Username)
	}
	if s.GetMustChangePassword() {
		return nil, fmt.Errorf("%w: staff account %q", ErrPasswordChange, c.Username)
	}
	// A token of a second before the password was set was issued for the
	// password before (one for the new password is issued in the second
	// of the change or later: Issuer.IssueAfter).
	if changed := s.GetPasswordChangedAt(); changed != nil && c.issuedBefore(changed.AsTime()) {
		return nil, fmt.Errorf("%w: the token was issued before the password of %q was last set: sign in again", ErrUnauthenticated, c.Username)
	}
	if s.GetOfficeCode() != c.Office || !a.CanSignIn(c.IssuerOffice, s.GetOfficeCode()) {
		return nil, fmt.Errorf("%w: a node of office %s may not vouch for %q of office %s",
			ErrUnauthenticated, c.IssuerOffice, c.Username, s.GetOfficeCode())
	}
	return &Principal{
		Username: s.GetUsername(), Name: s.GetName(), Office: s.GetOfficeCode(),
		Department: s.GetDepartmentCode(), Roles: slices.Clone(s.GetRoles()),
		IssuerOffice: c.IssuerOffice, ExpiresAt: time.Unix(c.ExpiresAt, 0), Token: token,
	}, nil
}

// FromContext authenticates the bearer token of an incoming call.
func (a *Authenticator) FromContext(ctx context.Context) (*Principal, error) {
	return a.Authenticate(BearerToken(ctx))
}
