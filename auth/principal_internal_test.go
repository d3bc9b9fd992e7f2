package auth

import (
	"testing"
	"time"
)

// A verified token is taken as verified for verifiedTokensFor at most,
// and never past its signing certificate's expiry.
func TestVerifiedTokensEndWithTheCertificate(t *testing.T) {
	var v verifiedTokens
	now := time.Unix(1_800_000_000, 0)
	v.put("short", Claims{Username: "a"}, now, now.Add(time.Minute))
	v.put("long", Claims{Username: "b"}, now, now.Add(time.Hour))
	for _, tt := range []struct {
		token string
		after time.Duration
		want  bool
	}{
		{"short", 30 * time.Second, true},
		{"short", 2 * time.Minute, false}, // the certificate expired
		{"long", 4 * time.Minute, true},
		{"long", verifiedTokensFor + time.Second, false},
		{"unknown", 0, false},
	} {
		if _, ok := v.get(tt.token, now.Add(tt.after)); ok != tt.want {
			t.Errorf("%s after %s: cached %v, want %v", tt.token, tt.after, ok, tt.want)
		}
	}
}
