package auth_test

import (
	"context"
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/metadata"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/auth"
	"github.com/yizhan-gov/yizhan/federation/pki"
	"github.com/yizhan-gov/yizhan/registry"
)

const (
	county  = "450122000000"
	village = "450122101203"
)

func TestVerifyAbsent(t *testing.T) {
	if auth.VerifyAbsent("") || auth.VerifyAbsent("correct horse") {
		t.Error("VerifyAbsent accepted a password")
	}
}

func TestPasswordHash(t *testing.T) {
	h, err := auth.HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash %q is not an argon2id PHC string with the expected parameters", h)
	}
	h2, _ := auth.HashPassword("correct horse")
	if h == h2 {
		t.Error("two hashes of one password are equal: no salt")
	}
	tests := []struct {
		name     string
		hash     string
		password string
		ok       bool
		err      error
	}{
		{"right password", h, "correct horse", true, nil},
		{"wrong password", h, "correct horsE", false, nil},
		{"empty password", h, "", false, nil},
		{"not argon2id", "$2a$10$abcdefghijklmnopqrstuv", "x", false, auth.ErrBadHash},
		{"garbage", "plain", "x", false, auth.ErrBadHash},
		{"absurd memory", "$argon2id$v=19$m=99999999,t=2,p=1$c2FsdA$aGFzaA", "x", false, auth.ErrBadHash},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := auth.VerifyPassword(tt.hash, tt.password)
			if ok != tt.ok || !errors.Is(err, tt.err) {
				t.Errorf("VerifyPassword = %v, %v; want %v, %v", ok, err, tt.ok, tt.err)
			}
		})
	}
}

// world is a CA, a county node, a village node and a staff directory.
type world struct {
	ca             *pki.CA
	countyB, villB *pki.Bundle
	staff          map[string]*yizhanv1.StaffMember
	now            time.Time
	countyI, villI *auth.Issuer
	authenticator  *auth.Authenticator
}

func (w *world) StaffMember(u string) (*yizhanv1.StaffMember, bool) {
	s, ok := w.staff[u]
	return s, ok
}

func newWorld(t *testing.T) *world {
	ca := pki.NewTestCA(t)
	w := &world{
		ca:      ca,
		countyB: pki.NewTestBundle(t, ca, pki.Identity{Office: county, Node: "county-1"}),
		villB:   pki.NewTestBundle(t, ca, pki.Identity{Office: village, Node: "dongcun-1"}),
		staff: map[string]*yizhanv1.StaffMember{
			"admin":   {Username: "admin", OfficeCode: county, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_ADMIN}},
			"dongcun": {Username: "dongcun", OfficeCode: village, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_AGENT}},
			"gone":    {Username: "gone", OfficeCode: village, Disabled: true},
		},
		now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC),
	}
	clock := func() time.Time { return w.now }
	w.countyI = auth.NewIssuer(w.countyB.Signer(), w.countyB.Certificate.Certificate, county, "county-1", time.Hour, clock)
	w.villI = auth.NewIssuer(w.villB.Signer(), w.villB.Certificate.Certificate, village, "dongcun-1", time.Hour, clock)
	verify := func(chain [][]byte) (string, *x509.Certificate, error) {
		id, leaf, err := w.countyB.VerifyChain(chain)
		return id.Office, leaf, err
	}
	w.authenticator = &auth.Authenticator{Staff: w, VerifyChain: verify, CanSignIn: registry.CanSignIn, Now: clock}
	return w
}

func TestTokens(t *testing.T) {
	w := newWorld(t)
	issue := func(i *auth.Issuer, user, office string) string {
		tok, _, err := i.Issue(user, office)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	// A token of another county's CA.
	otherCA := pki.NewTestCA(t)
	ob := pki.NewTestBundle(t, otherCA, pki.Identity{Office: county, Node: "county-1"})
	other := auth.NewIssuer(ob.Signer(), ob.Certificate.Certificate, county, "county-1", time.Hour, func() time.Time { return w.now })
	// A county node of an older release, its key ECDSA P-256.
	olderB := pki.NewTestBundleECDSA(t, w.ca, pki.Identity{Office: county, Node: "county-2"})
	older := auth.NewIssuer(olderB.Signer(), olderB.Certificate.Certificate, county, "county-2", time.Hour, func() time.Time { return w.now })
	// The village's key, claiming the county office in the token.
	lying := auth.NewIssuer(w.villB.Signer(), w.villB.Certificate.Certificate, county, "dongcun-1", time.Hour, func() time.Time { return w.now })
	good := issue(w.countyI, "admin", county)
	parts := strings.Split(good, ".")
	// The claims of another valid token under this token's signature.
	otherClaims := strings.Split(issue(w.countyI, "dongcun", village), ".")[1]
	tampered := strings.Join([]string{parts[0], otherClaims, parts[2], parts[3]}, ".")

	tests := []struct {
		name  string
		token string
		user  string
	}{
		{"county node vouches for the county admin", good, "admin"},
		{"county node of an older release (P-256) vouches for the county admin", issue(older, "admin", county), "admin"},
		{"county node vouches for a village agent", issue(w.countyI, "dongcun", village), "dongcun"},
		{"village node vouches for its own agent", issue(w.villI, "dongcun", village), "dongcun"},
		{"village node vouches for the county admin", issue(w.villI, "admin", county), ""},
		{"village key claims the county office", issue(lying, "admin", county), ""},
		{"another county's CA", issue(other, "admin", county), ""},
		{"disabled account", issue(w.villI, "gone", village), ""},
		{"unknown account", issue(w.countyI, "nobody", county), ""},
		{"claims swapped under the signature", tampered, ""},
		{"not a token", "Bearer-nonsense", ""},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := w.authenticator.Authenticate(tt.token)
			if tt.user == "" {
				if !errors.Is(err, auth.ErrUnauthenticated) {
					t.Errorf("Authenticate = %v, %v; want ErrUnauthenticated", p, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
			if p.Username != tt.user || p.Office != w.staff[tt.user].GetOfficeCode() {
				t.Errorf("principal %+v", p)
			}
		})
	}

	t.Run("expired", func(t *testing.T) {
		w.now = w.now.Add(2 * time.Hour)
		defer func() { w.now = w.now.Add(-2 * time.Hour) }()
		if _, err := w.authenticator.Authenticate(good); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Errorf("expired token: %v", err)
		}
	})
	t.Run("verified once, checked against the registry each time", func(t *testing.T) {
		// A token not seen before: Ed25519 signatures are deterministic,
		// so the same claims in the same second make the same token.
		w.now = w.now.Add(time.Second)
		defer func() { w.now = w.now.Add(-time.Second) }()
		tok := issue(w.countyI, "dongcun", village)
		verify := w.authenticator.VerifyChain
		chains := 0
		w.authenticator.VerifyChain = func(chain [][]byte) (string, *x509.Certificate, error) {
			chains++
			return verify(chain)
		}
		defer func() { w.authenticator.VerifyChain = verify }()
		for range 3 {
			if _, err := w.authenticator.Authenticate(tok); err != nil {
				t.Fatal(err)
			}
		}
		if chains != 1 {
			t.Errorf("the token's chain and signature verified %d times in three requests, want once", chains)
		}
		w.staff["dongcun"].Disabled = true
		defer func() { w.staff["dongcun"].Disabled = false }()
		if _, err := w.authenticator.Authenticate(tok); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Errorf("a token verified before its account was disabled: %v", err)
		}
		w.staff["dongcun"].Disabled = false
		w.now = w.now.Add(2 * time.Hour)
		defer func() { w.now = w.now.Add(-2 * time.Hour) }()
		if _, err := w.authenticator.Authenticate(tok); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Errorf("a verified token past its expiry: %v", err)
		}
	})
	t.Run("unknown account at a node still starting", func(t *testing.T) {
		starting := errors.New("still applying the office's log")
		w.authenticator.Starting = func() error { return starting }
		defer func() { w.authenticator.Starting = nil }()
		if _, err := w.authenticator.Authenticate(issue(w.countyI, "nobody", county)); !errors.Is(err, starting) {
			t.Errorf("unknown account while starting: %v, want the starting error (retryable), not a sign-in failure", err)
		}
		if p, err := w.authenticator.Authenticate(good); err != nil || p.Username != "admin" {
			t.Errorf("a known account while starting: %v, %v", p, err)
		}
	})
	t.Run("from the Authorization header", func(t *testing.T) {
		ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+good))
		p, err := w.authenticator.FromContext(ctx)
		if err != nil || !p.Has(yizhanv1.Role_ROLE_ADMIN) {
			t.Errorf("FromContext = %v, %v", p, err)
		}
	})
}

func TestCachedChainVerifier(t *testing.T) {
	w := newWorld(t)
	calls := 0
	inner := func(chain [][]byte) (string, *x509.Certificate, error) {
		calls++
		id, leaf, err := w.countyB.VerifyChain(chain)
		return id.Office, leaf, err
	}
	v := auth.CachedChainVerifier(inner, time.Minute, func() time.Time { return w.now })
	chain := w.villB.Certificate.Certificate
	for range 3 {
		office, _, err := v(chain)
		if err != nil || office != village {
			t.Fatalf("verify = %s, %v", office, err)
		}
	}
	if calls != 1 {
		t.Errorf("verified %d times, want once", calls)
	}
	w.now = w.now.Add(2 * time.Minute)
	if _, _, err := v(chain); err != nil || calls != 2 {
		t.Errorf("after the ttl: %v, %d verifications", err, calls)
	}
	other := pki.NewTestBundle(t, pki.NewTestCA(t), pki.Identity{Office: village, Node: "x"})
	for range 2 {
		if _, _, err := v(other.Certificate.Certificate); err == nil {
			t.Fatal("a chain of another CA was accepted")
		}
	}
	if calls != 4 {
		t.Errorf("refusals were cached: %d verifications, want 4", calls)
	}
}

// A node key signs whatever lifetime its node asks for; the verifier caps
// it: a ten-year token of a valid county node is refused, and so is one
// issued in the future beyond the clock skew.
func TestTokenLifetimeCapped(t *testing.T) {
	w := newWorld(t)
	w.authenticator.MaxTTL = 12 * time.Hour
	issuer := func(ttl time.Duration, clock time.Duration) *auth.Issuer {
		return auth.NewIssuer(w.countyB.Signer(), w.countyB.Certificate.Certificate, county, "county-1", ttl,
			func() time.Time { return w.now.Add(clock) })
	}
	tests := []struct {
		name  string
		iss   *auth.Issuer
		valid bool
	}{
		{"ten years", issuer(10*365*24*time.Hour, 0), false},
		{"a day, over the cap of 12 hours", issuer(24*time.Hour, 0), false},
		{"exactly the cap", issuer(12*time.Hour, 0), true},
		{"one hour", issuer(time.Hour, 0), true},
		{"issued a minute ahead (skew)", issuer(time.Hour, time.Minute), true},
		{"issued an hour ahead", issuer(2*time.Hour, time.Hour), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, _, err := tt.iss.Issue("admin", county)
			if err != nil {
				t.Fatal(err)
			}
			_, err = w.authenticator.Authenticate(tok)
			if tt.valid && err != nil {
				t.Errorf("refused: %v", err)
			}
			if !tt.valid && !errors.Is(err, auth.ErrUnauthenticated) {
				t.Errorf("Authenticate = %v; want ErrUnauthenticated", err)
			}
		})
	}
	t.Run("default cap", func(t *testing.T) {
		w.authenticator.MaxTTL = 0
		tok, _, _ := issuer(10*365*24*time.Hour, 0).Issue("admin", county)
		if _, err := w.authenticator.Authenticate(tok); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Errorf("a ten-year token under the default cap: %v", err)
		}
		tok, _, _ = issuer(auth.DefaultMaxTokenTTL, 0).Issue("admin", county)
		if _, err := w.authenticator.Authenticate(tok); err != nil {
			t.Errorf("a token of the default cap: %v", err)
		}
	})
}
