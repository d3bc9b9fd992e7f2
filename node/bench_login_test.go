package node

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/auth"
	"github.com/yizhan-gov/yizhan/federation/pki"
)

// benchCounty starts a county of one node, bootstrapped with the admin
// account, and waits until it is ready.
func benchCounty(b *testing.B) *Node {
	b.Helper()
	const county = "450122000000"
	ca := pki.NewTestCA(b)
	n, err := New(Config{
		Office: county, Name: "county-1", DataDir: b.TempDir(),
		HTTPAddr: "127.0.0.1:0", PeerAddr: "127.0.0.1:0", RaftAddr: "127.0.0.1:0",
		TLS:       pki.NewTestBundle(b, ca, pki.Identity{Office: county, Node: "county-1"}),
		Bootstrap: true, BootstrapAdminPassword: "correct-horse",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), SmallBadger: true,
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := n.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { n.Close() })
	for deadline := time.Now().Add(30 * time.Second); !n.Ready(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatal("the county did not get ready")
		}
	}
	return n
}

// benchmarkLogin signs in as username with a wrong password, through the
// whole handler (limits, verification slot, argon2id) at the county
// leader, each attempt from an address of its own so that no limit holds
// it back.
func benchmarkLogin(b *testing.B, username string) {
	b.Cleanup(auth.UseCostForTests(auth.DefaultCost)) // the cost a node pays, not TestMain's
	n := benchCounty(b)
	s := &authService{n: n}
	req := &yizhanv1.LoginRequest{Username: username, Password: "wrong-password"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		ctx := withClientAddr(context.Background(), fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255))
		if _, err := s.Login(ctx, req); status.Code(err) != codes.Unauthenticated {
			b.Fatalf("sign-in %d: %v, want Unauthenticated", i, err)
		}
	}
}

// BenchmarkLoginUnknownUser and BenchmarkLoginKnownUserWrongPassword do
// the same work: an account no one has costs one argon2id verification,
// like a wrong password, so the answer's time does not tell which
// accounts exist (docs/BENCHMARKS.md).
//
//	go test -run '^$' -bench 'BenchmarkLogin(Unknown|Known)' -benchtime 3s ./node/
func BenchmarkLoginUnknownUser(b *testing.B) { benchmarkLogin(b, "nobody") }

func BenchmarkLoginKnownUserWrongPassword(b *testing.B) { benchmarkLogin(b, "admin") }
