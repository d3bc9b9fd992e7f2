package auth

import (
	"crypto/x509"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/yizhan-gov/yizhan/federation/pki"
)

// FuzzParseToken feeds arbitrary strings to the token parser and to the
// whole check. Neither may panic; the parser refuses with
// ErrUnauthenticated; and what the check accepts is a token of the test
// county's node, with a lifetime within the cap, issued and not expired.
// The committed corpus (testdata/fuzz/FuzzParseToken) holds tokens of
// another CA and broken ones; the seeds added here are signed by this
// run's CA, so that the fuzzer starts from tokens that pass.
func FuzzParseToken(f *testing.F) {
	const office = "450122000000"
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	ca := pki.NewTestCA(f)
	b := pki.NewTestBundle(f, ca, pki.Identity{Office: office, Node: "county-1"})
	verify := CachedChainVerifier(func(chain [][]byte) (string, *x509.Certificate, error) {
		id, leaf, err := b.VerifyChain(chain)
		return id.Office, leaf, err
	}, time.Minute, clock)
	const maxTTL = 12 * time.Hour
	for _, ttl := range []time.Duration{time.Hour, maxTTL, 10 * 365 * 24 * time.Hour} {
		tok, _, err := NewIssuer(b.Signer(), b.Certificate.Certificate, office, "county-1", ttl, clock).Issue("admin", office)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(tok)
		parts := strings.Split(tok, ".")
		f.Add(strings.Join(parts[:3], "."))
		f.Add(parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"admin","iat":1,"exp":9223372036854775807}`)) + "." + parts[2] + "." + parts[3])
	}
	f.Add("")
	f.Add("yz1...")
	f.Add("yz1.e30.AA.AA~~")

	f.Fuzz(func(t *testing.T, token string) {
		pt, err := parseToken(token)
		if err != nil {
			if !errors.Is(err, ErrUnauthenticated) {
				t.Fatalf("parse error %v is not ErrUnauthenticated", err)
			}
		} else if len(pt.chain) == 0 || len(pt.sig) == 0 || !strings.HasPrefix(string(pt.signed), tokenPrefix+".") {
			t.Fatalf("parsed a token without chain, signature or prefix: %+v", pt)
		}
		c, err := ParseAndVerify(token, verify, now, maxTTL)
		if err != nil {
			if !errors.Is(err, ErrUnauthenticated) {
				t.Fatalf("check error %v is not ErrUnauthenticated", err)
			}
			return
		}
		switch {
		case c.IssuerOffice != office:
			t.Errorf("accepted a token of office %s", c.IssuerOffice)
		case c.ExpiresAt-c.IssuedAt > int64(maxTTL/time.Second) || c.ExpiresAt <= c.IssuedAt:
			t.Errorf("accepted a lifetime of %d s", c.ExpiresAt-c.IssuedAt)
		case c.IssuedAt > now.Add(ClockSkew).Unix() || now.Unix() >= c.ExpiresAt:
			t.Errorf("accepted a token issued at %d expiring at %d, at %d", c.IssuedAt, c.ExpiresAt, now.Unix())
		}
	})
}
