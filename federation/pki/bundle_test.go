package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"testing"
	"time"
)

// handshake runs a TLS handshake over loopback TCP and one byte of data
// from client to server (in TLS 1.3 a client learns that the server refused
// its certificate only when it reads). It returns each side's error and the
// state the server saw.
func handshake(t *testing.T, server, client *tls.Config) (serverErr, clientErr error, state tls.ConnectionState) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type result struct {
		err   error
		state tls.ConnectionState
	}
	done := make(chan result, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- result{err: err}
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		tc := tls.Server(c, server)
		if err := tc.Handshake(); err != nil {
			done <- result{err: err}
			return
		}
		buf := make([]byte, 1)
		if _, err := io.ReadFull(tc, buf); err != nil {
			done <- result{err: err}
			return
		}
		_, err = tc.Write(buf)
		done <- result{err: err, state: tc.ConnectionState()}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	tc := tls.Client(c, client)
	clientErr = tc.Handshake()
	if clientErr == nil {
		if _, err := tc.Write([]byte{1}); err != nil {
			clientErr = err
		} else if _, err := io.ReadFull(tc, make([]byte, 1)); err != nil {
			clientErr = err
		}
	}
	_ = tc.Close()
	r := <-done
	return r.err, clientErr, r.state
}

func TestMutualTLS(t *testing.T) {
	ca := NewTestCA(t)
	other := NewTestCA(t)
	countyNode := NewTestBundle(t, ca, Identity{Office: county, Node: "c0"})
	countyPeer := NewTestBundle(t, ca, Identity{Office: county, Node: "c1"})
	townshipNode := NewTestBundle(t, ca, Identity{Office: township})
	stranger := NewTestBundle(t, other, Identity{Office: county, Node: "c0"})
	noIdentity := bundleWithoutIdentity(t, ca)
	olderPeer := NewTestBundleECDSA(t, ca, Identity{Office: county, Node: "c2"})

	tls12 := countyPeer.ClientConfig(county)
	tls12.MaxVersion = tls.VersionTLS12
	tls12.MinVersion = tls.VersionTLS12

	tests := []struct {
		name      string
		server    *tls.Config
		client    *tls.Config
		serverErr bool
		clientErr error // errors.Is target, or errAny
		wantPeer  Identity
	}{
		{name: "same office", server: countyNode.ServerConfig(), client: countyPeer.ClientConfig(county), wantPeer: countyPeer.Identity},
		{name: "any office", server: countyNode.ServerConfig(), client: townshipNode.ClientConfig(""), wantPeer: townshipNode.Identity},
		{name: "server of another office", server: townshipNode.ServerConfig(), client: countyPeer.ClientConfig(county), serverErr: true, clientErr: ErrWrongOffice},
		{name: "server from another CA", server: stranger.ServerConfig(), client: countyPeer.ClientConfig(""), serverErr: true, clientErr: ErrUntrusted},
		{name: "client from another CA", server: countyNode.ServerConfig(), client: stranger.ClientConfig(""), serverErr: true, clientErr: errAny},
		{name: "client without identity", server: countyNode.ServerConfig(), client: noIdentity.ClientConfig(""), serverErr: true, clientErr: errAny},
		{name: "TLS 1.2", server: countyNode.ServerConfig(), client: tls12, serverErr: true, clientErr: errAny},
		// A county upgrades node by node: a P-256 node of an older
		// release and an Ed25519 node talk both ways.
		{name: "client with an older P-256 key", server: countyNode.ServerConfig(), client: olderPeer.ClientConfig(county), wantPeer: olderPeer.Identity},
		{name: "server with an older P-256 key", server: olderPeer.ServerConfig(), client: countyPeer.ClientConfig(county), wantPeer: countyPeer.Identity},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			serverErr, clientErr, state := handshake(t, tt.server, tt.client)
			if (serverErr != nil) != tt.serverErr {
				t.Fatalf("server error = %v, want error %v", serverErr, tt.serverErr)
			}
			switch {
			case tt.clientErr == nil && clientErr != nil:
				t.Fatalf("client error = %v", clientErr)
			case tt.clientErr == errAny && clientErr == nil:
				t.Fatal("client succeeded, want an error")
			case tt.clientErr != nil && tt.clientErr != errAny && !errors.Is(clientErr, tt.clientErr):
				t.Fatalf("client error = %v, want %v", clientErr, tt.clientErr)
			}
			if tt.serverErr {
				return
			}
			got, err := IdentityFromCert(state.VerifiedChains[0][0])
			if err != nil || got != tt.wantPeer {
				t.Fatalf("server saw %+v, %v; want %+v", got, err, tt.wantPeer)
			}
			if state.Version != tls.VersionTLS13 {
				t.Fatalf("TLS version %x, want 1.3", state.Version)
			}
		})
	}
}

var errAny = errors.New("any error")

// bundleWithoutIdentity builds a bundle whose certificate, signed by ca,
// carries no URI SAN (LoadPEM would refuse it).
func bundleWithoutIdentity(t *testing.T, ca *CA) *Bundle {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: newSerialT(t),
		Subject:      pkix.Name{CommonName: "anonymous"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	if _, err := LoadPEM(pemCert(der), mustPKCS8(t, key), ca.CertPEM()); !errors.Is(err, ErrNoIdentity) {
		t.Fatalf("LoadPEM of a certificate without identity = %v, want ErrNoIdentity", err)
	}
	return &Bundle{
		Certificate: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf},
		Leaf:        leaf,
		CAs:         pool,
		signer:      key,
	}
}

func TestVerifyChain(t *testing.T) {
	ca := NewTestCA(t)
	b := NewTestBundle(t, ca, Identity{Office: county, Node: "c0"})
	peer := NewTestBundle(t, ca, Identity{Office: township, Node: "t0"})
	stranger := NewTestBundle(t, NewTestCA(t), Identity{Office: township, Node: "t0"})

	id, leaf, err := b.VerifyChain(peer.Certificate.Certificate)
	if err != nil || id != peer.Identity || !leaf.Equal(peer.Leaf) {
		t.Fatalf("VerifyChain(peer) = %+v, %v", id, err)
	}
	tests := []struct {
		name  string
		chain [][]byte
	}{
		{name: "another CA", chain: stranger.Certificate.Certificate},
		{name: "empty", chain: nil},
		{name: "garbage", chain: [][]byte{[]byte("not DER")}},
		{name: "the CA itself", chain: [][]byte{ca.cert.Raw}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := b.VerifyChain(tt.chain); !errors.Is(err, ErrUntrusted) {
				t.Fatalf("VerifyChain = %v, want ErrUntrusted", err)
			}
		})
	}
}

// A node's key signs, and the certificate in its chain verifies the
// signature: Ed25519 for keys Issue makes, P-256 for an older release's.
func TestSigner(t *testing.T) {
	ca := NewTestCA(t)
	msg := []byte("staff token")
	digest := sha256.Sum256(msg)
	for _, tt := range []struct {
		name   string
		b      *Bundle
		verify func(pub crypto.PublicKey, sig []byte) bool
	}{
		{"issued now: Ed25519", NewTestBundle(t, ca, Identity{Office: county}), func(pub crypto.PublicKey, sig []byte) bool {
			k, ok := pub.(ed25519.PublicKey)
			return ok && ed25519.Verify(k, msg, sig)
		}},
		{"an older release's: P-256", NewTestBundleECDSA(t, ca, Identity{Office: county}), func(pub crypto.PublicKey, sig []byte) bool {
			k, ok := pub.(*ecdsa.PublicKey)
			return ok && ecdsa.VerifyASN1(k, digest[:], sig)
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in, opts := digest[:], crypto.SignerOpts(crypto.SHA256)
			if _, ok := tt.b.Signer().Public().(ed25519.PublicKey); ok {
				in, opts = msg, crypto.Hash(0) // Ed25519 signs the message itself
			}
			sig, err := tt.b.Signer().Sign(rand.Reader, in, opts)
			if err != nil {
				t.Fatal(err)
			}
			// A verifier that only has the certificate (as embedded in a token).
			_, leaf, err := tt.b.VerifyChain(tt.b.Certificate.Certificate)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.verify(leaf.PublicKey, sig) {
				t.Fatal("signature does not verify with the certificate's key")
			}
		})
	}
}

func newSerialT(t *testing.T) *big.Int {
	t.Helper()
	s, err := newSerial()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustPKCS8(t *testing.T, key crypto.Signer) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// A bundle loaded from files takes a renewed certificate and key from them
// (Reload): what it presents and signs with is the renewed one, one pair
// (Keys); files unchanged change nothing; a certificate of another office
// written over them is refused and the one in use kept.
func TestReloadTakesARenewedCertificate(t *testing.T) {
	dir := t.TempDir()
	caDir, out := dir+"/ca", dir+"/tls"
	if err := InitCA(caDir, "test CA"); err != nil {
		t.Fatal(err)
	}
	const office = "450122101203"
	if err := IssueNode(caDir, Identity{Office: office, Node: "dongcun-1"}, nil, out); err != nil {
		t.Fatal(err)
	}
	b, err := Load(out+"/node.crt", out+"/node.key", out+"/ca.crt")
	if err != nil {
		t.Fatal(err)
	}
	first := b.Leaf
	if changed, err := b.Reload(); changed || err != nil {
		t.Fatalf("files unchanged: reload %v, %v", changed, err)
	}
	time.Sleep(10 * time.Millisecond) // a later modification time
	if err := IssueNode(caDir, Identity{Office: office, Node: "dongcun-1"}, nil, out); err != nil {
		t.Fatal(err)
	}
	if changed, err := b.Reload(); !changed || err != nil {
		t.Fatalf("renewed files: reload %v, %v", changed, err)
	}
	signer, chain := b.Keys()
	renewed, err := x509.ParseCertificate(chain[0])
	if err != nil {
		t.Fatal(err)
	}
	if renewed.SerialNumber.Cmp(first.SerialNumber) == 0 {
		t.Fatal("Keys gives the certificate loaded first, not the renewed one")
	}
	if !publicKeysEqual(signer.Public(), renewed.PublicKey) {
		t.Error("Keys gives a key that is not the renewed certificate's")
	}
	server := b.ServerConfig()
	if c, err := server.GetCertificate(nil); err != nil || c.Leaf.SerialNumber.Cmp(renewed.SerialNumber) != 0 {
		t.Errorf("the server presents %v (%v), want the renewed certificate", c.Leaf.SerialNumber, err)
	}
	if b.NotAfter() != renewed.NotAfter {
		t.Errorf("NotAfter %v, want the renewed certificate's %v", b.NotAfter(), renewed.NotAfter)
	}

	time.Sleep(10 * time.Millisecond)
	if err := IssueNode(caDir, Identity{Office: "450122101204", Node: "xicun-1"}, nil, out); err != nil {
		t.Fatal(err)
	}
	if changed, err := b.Reload(); changed || err == nil {
		t.Errorf("a certificate of another office written over the files: reload %v, %v; want refused", changed, err)
	}
	if _, chain := b.Keys(); !bytes.Equal(chain[0], renewed.Raw) {
		t.Error("after a refused reload the bundle does not keep the certificate in use")
	}
}
