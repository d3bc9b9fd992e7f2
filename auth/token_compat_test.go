package auth

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// oldClaims is Claims as the previous release (83daf89) declares it; its
// parseToken decodes the claims with DisallowUnknownFields.
type oldClaims struct {
	Username     string `json:"sub"`
	Office       string `json:"off"`
	IssuerOffice string `json:"iof"`
	IssuerNode   string `json:"ind"`
	IssuedAt     int64  `json:"iat"`
	ExpiresAt    int64  `json:"exp"`
}

// During a rolling upgrade, a token a new node issues is taken to a node
// of the previous release (a registry write forwarded to a county node not
// yet upgraded, a follower, a load balancer's other pod): that node's
// parser refuses unknown claims, so the token must carry none (a claim
// "iatms" of the password stamp's first version made it "malformed"
// there).
func TestATokenParsesAtANodeOfThePreviousRelease(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	i := NewIssuer(key, [][]byte{{1}}, "450122000000", "county-1", time.Hour, nil)
	tok, _, err := i.Issue("admin", "450122000000")
	if err != nil {
		t.Fatal(err)
	}
	body, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
	if err != nil {
		t.Fatal(err)
	}
	var c oldClaims
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields() // as the previous release's parseToken
	if err := dec.Decode(&c); err != nil {
		t.Errorf("a token of this release, at a node of the previous one: %v (it answers Unauthenticated: malformed token claims)", err)
	}
}
