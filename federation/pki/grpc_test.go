package pki

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/peer"
)

// startGRPC serves the health service with b.ServerConfig on loopback and
// sends the caller identity of every call, or the error getting it, to the
// returned channel.
func startGRPC(t *testing.T, b *Bundle) (addr string, peers <-chan any) {
	t.Helper()
	ch := make(chan any, 16)
	srv := grpc.NewServer(
		grpc.Creds(credentials.NewTLS(b.ServerConfig())),
		grpc.UnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			id, err := PeerIdentity(ctx)
			if err != nil {
				ch <- err
			} else {
				ch <- id
			}
			return h(ctx, req)
		}),
	)
	healthpb.RegisterHealthServer(srv, health.NewServer())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		srv.Stop()
		<-served
	})
	return ln.Addr().String(), ch
}

func checkHealth(t *testing.T, addr string, cfg *tls.Config) error {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	return err
}

func TestGRPCPeerIdentity(t *testing.T) {
	ca := NewTestCA(t)
	server := NewTestBundle(t, ca, Identity{Office: county, Node: "c0"})
	addr, peers := startGRPC(t, server)

	client := NewTestBundle(t, ca, Identity{Office: township, Node: "t0"})
	if err := checkHealth(t, addr, client.ClientConfig(county)); err != nil {
		t.Fatalf("Check from township: %v", err)
	}
	if got := <-peers; got != client.Identity {
		t.Fatalf("PeerIdentity = %v, want %+v", got, client.Identity)
	}

	// A client expecting another office refuses the server.
	if err := checkHealth(t, addr, client.ClientConfig(township)); err == nil {
		t.Fatal("client expecting the township accepted the county server")
	}
	// A client from another CA is refused by the server.
	stranger := NewTestBundle(t, NewTestCA(t), Identity{Office: county})
	if err := checkHealth(t, addr, stranger.ClientConfig("")); err == nil {
		t.Fatal("server accepted a client from another CA")
	}
	select {
	case got := <-peers:
		t.Fatalf("a refused client reached the handler: %v", got)
	default:
	}
}

func TestPeerIdentityWithoutTLS(t *testing.T) {
	if _, err := PeerIdentity(context.Background()); !errors.Is(err, ErrNoPeer) {
		t.Fatalf("PeerIdentity without peer = %v, want ErrNoPeer", err)
	}
	ctx := peer.NewContext(context.Background(), &peer.Peer{Addr: &net.TCPAddr{}})
	if _, err := PeerIdentity(ctx); !errors.Is(err, ErrNoPeer) {
		t.Fatalf("PeerIdentity of a plaintext peer = %v, want ErrNoPeer", err)
	}
}
