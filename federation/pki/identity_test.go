package pki

import (
	"crypto/x509"
	"errors"
	"net/url"
	"testing"
)

func TestParseIdentity(t *testing.T) {
	tests := []struct {
		name string
		uri  string
		want Identity
		err  error
	}{
		{name: "office", uri: "spiffe://yizhan/office/330102000000", want: Identity{Office: "330102000000"}},
		{name: "node", uri: "spiffe://yizhan/office/330102001001/node/yizhan-0", want: Identity{Office: "330102001001", Node: "yizhan-0"}},
		{name: "node with dots", uri: "spiffe://yizhan/office/330102001001/node/a.b_c", want: Identity{Office: "330102001001", Node: "a.b_c"}},
		{name: "other scheme", uri: "https://yizhan/office/330102000000", err: ErrBadIdentity},
		{name: "other trust domain", uri: "spiffe://example.org/office/330102000000", err: ErrBadIdentity},
		{name: "port", uri: "spiffe://yizhan:443/office/330102000000", err: ErrBadIdentity},
		{name: "user", uri: "spiffe://u@yizhan/office/330102000000", err: ErrBadIdentity},
		{name: "query", uri: "spiffe://yizhan/office/330102000000?x=1", err: ErrBadIdentity},
		{name: "empty query", uri: "spiffe://yizhan/office/330102000000?", err: ErrBadIdentity},
		{name: "fragment", uri: "spiffe://yizhan/office/330102000000#x", err: ErrBadIdentity},
		{name: "short code", uri: "spiffe://yizhan/office/3301020", err: ErrBadIdentity},
		{name: "long code", uri: "spiffe://yizhan/office/3301020000001", err: ErrBadIdentity},
		{name: "letters in code", uri: "spiffe://yizhan/office/33010200000x", err: ErrBadIdentity},
		{name: "trailing slash", uri: "spiffe://yizhan/office/330102000000/", err: ErrBadIdentity},
		{name: "empty node", uri: "spiffe://yizhan/office/330102000000/node/", err: ErrBadIdentity},
		{name: "bad node name", uri: "spiffe://yizhan/office/330102000000/node/-x", err: ErrBadIdentity},
		{name: "escaped", uri: "spiffe://yizhan/office/330102000000/node/a%2Fb", err: ErrBadIdentity},
		{name: "escaped letter", uri: "spiffe://yizhan/office/33010200000%30", err: ErrBadIdentity},
		{name: "other path", uri: "spiffe://yizhan/staff/330102000000", err: ErrBadIdentity},
		{name: "extra segments", uri: "spiffe://yizhan/office/330102000000/node/n/x", err: ErrBadIdentity},
		{name: "no path", uri: "spiffe://yizhan", err: ErrBadIdentity},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := url.Parse(tt.uri)
			if err != nil {
				t.Fatalf("url.Parse(%q): %v", tt.uri, err)
			}
			got, err := ParseIdentity(u)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("ParseIdentity(%q) = %+v, %v; want %v", tt.uri, got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseIdentity(%q) = %+v, %v; want %+v", tt.uri, got, err, tt.want)
			}
			if s := got.URI().String(); s != tt.uri {
				t.Fatalf("URI() = %q, want %q", s, tt.uri)
			}
		})
	}
}

func TestIdentityFromCert(t *testing.T) {
	office := mustURL(t, "spiffe://yizhan/office/330102000000")
	node := mustURL(t, "spiffe://yizhan/office/330102000000/node/n1")
	tests := []struct {
		name string
		uris []*url.URL
		want Identity
		err  error
	}{
		{name: "one", uris: []*url.URL{office}, want: Identity{Office: "330102000000"}},
		{name: "other schemes ignored", uris: []*url.URL{mustURL(t, "https://example.org/"), node}, want: Identity{Office: "330102000000", Node: "n1"}},
		{name: "none", uris: nil, err: ErrNoIdentity},
		{name: "only other schemes", uris: []*url.URL{mustURL(t, "https://example.org/")}, err: ErrNoIdentity},
		{name: "two", uris: []*url.URL{office, node}, err: ErrBadIdentity},
		{name: "foreign trust domain", uris: []*url.URL{mustURL(t, "spiffe://other/office/330102000000")}, err: ErrBadIdentity},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := IdentityFromCert(&x509.Certificate{URIs: tt.uris})
			if !errors.Is(err, tt.err) || got != tt.want {
				t.Fatalf("IdentityFromCert = %+v, %v; want %+v, %v", got, err, tt.want, tt.err)
			}
		})
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
