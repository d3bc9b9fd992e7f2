package node

import (
	"context"
	"net/http"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"

	"github.com/yizhan-gov/yizhan/federation/netlimit"
)

// The client address is what sign-in and query-code attempts are counted
// against. It is fixed where the request enters the federation and
// travels with it when a node forwards it (to its leader, up the tree, to
// the office that owns a case), so that the node that checks counts the
// citizen's or clerk's address, not the forwarding node's.

// clientAddrHeader carries the client address on a forwarded call. It is
// believed only on the peer port, from a node with a certificate of the
// county CA; a client that sends it on the HTTP port is not listened to.
const clientAddrHeader = "x-yizhan-client-addr"

type clientAddrKey struct{}

// withClientAddr is ctx knowing its client's address.
func withClientAddr(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, clientAddrKey{}, addr)
}

// clientAddr is the address of the client a call came from: as the HTTP
// port saw it (clientAddrMiddleware), as the forwarding node said on the
// peer port, or the gRPC peer's address. An IPv6 address counts by its
// /64 (netlimit.HostKey).
func clientAddr(ctx context.Context) string {
	if a, ok := ctx.Value(clientAddrKey{}).(string); ok && a != "" {
		return a
	}
	p, ok := peer.FromContext(ctx)
	if !ok || p.Addr == nil {
		return "unknown"
	}
	if ti, ok := p.AuthInfo.(credentials.TLSInfo); ok && len(ti.State.VerifiedChains) > 0 {
		// The peer port: a node of the federation, forwarding.
		md, _ := metadata.FromIncomingContext(ctx)
		if v := md.Get(clientAddrHeader); len(v) > 0 && v[0] != "" {
			return v[0]
		}
		return "node:" + netlimit.HostKey(p.Addr.String())
	}
	return netlimit.HostKey(p.Addr.String())
}

// pinClientAddr fixes the client address in ctx, before anything replaces
// the incoming metadata it may come from.
func pinClientAddr(ctx context.Context) context.Context {
	if _, ok := ctx.Value(clientAddrKey{}).(string); ok {
		return ctx
	}
	return withClientAddr(ctx, clientAddr(ctx))
}

// passClientAddr adds the client address to the outgoing metadata of a
// call forwarded to another node.
func passClientAddr(ctx context.Context) context.Context {
	return metadata.AppendToOutgoingContext(ctx, clientAddrHeader, clientAddr(ctx))
}

// clientAddrMiddleware puts the client address of a request on the HTTP
// port (REST, the web UI, client gRPC) into its context: the handlers
// behind the gateway and the web UI are called in-process and see no gRPC
// peer.
func (n *Node) clientAddrMiddleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(withClientAddr(r.Context(), n.clientKey(r))))
	})
}
