package node_test

import (
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	"github.com/yizhan-gov/yizhan/federation/pki"
)

func newPeerClient(t *testing.T, b *pki.Bundle, addr string) peerv1.PeerClient {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(b.ClientConfig(""))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return peerv1.NewPeerClient(conn)
}
