package forward

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"

	"github.com/yizhan-gov/yizhan/federation/pki"
	"github.com/yizhan-gov/yizhan/reason"
)

// maxForwardHops bounds how often one request may be forwarded, so that a
// directory pointing in a circle cannot make requests go round forever.
const maxForwardHops = 4

// ErrTooManyHops is returned for a request forwarded more than maxForwardHops times.
var ErrTooManyHops error = reason.New(reason.TooManyHops, "federation: request forwarded too many times")

// HopsHeader counts the times a call was forwarded (absent: the call as
// its client sent it).
const HopsHeader = "x-yizhan-hops"

// Peers keeps one mutual-TLS gRPC connection per peer address and
// expected office.
type Peers struct {
	bundle *pki.Bundle
	dial   func(ctx context.Context, addr string) (net.Conn, error) // nil: the default dialer

	mu    sync.Mutex // guards conns
	conns map[peerKey]*grpc.ClientConn
}

type peerKey struct{ addr, office string }

// NewPeers returns an empty pool that dials with the node's certificate.
// dial may be nil; tests pass one that goes through a link they can cut.
func NewPeers(b *pki.Bundle, dial func(ctx context.Context, addr string) (net.Conn, error)) *Peers {
	return &Peers{bundle: b, dial: dial, conns: make(map[peerKey]*grpc.ClientConn)}
}

// Conn returns a connection to addr. When office is not empty, the peer's
// certificate must name that office.
func (p *Peers) Conn(addr, office string) (*grpc.ClientConn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := peerKey{addr, office}
	if c, ok := p.conns[k]; ok {
		return c, nil
	}
	opts := append(peerDialOptions(), grpc.WithTransportCredentials(credentials.NewTLS(p.bundle.ClientConfig(office))),
		grpc.WithChainUnaryInterceptor(passReplayed))
	if p.dial != nil {
		opts = append(opts, grpc.WithContextDialer(p.dial))
	}
	c, err := grpc.NewClient(addr, opts...)
	if err != nil {
		return nil, fmt.Errorf("federation: dial %s: %w", addr, err)
	}
	p.conns[k] = c
	return c, nil
}

// ReplayedHeader tells a client that its write had been applied before:
// the answer is the first one, nothing changed now.
const ReplayedHeader = "x-yizhan-replayed"

// passReplayed is the pool's client interceptor: the answer of a call
// forwarded that says it was replayed (ReplayedHeader) says so to the
// caller of the call it was forwarded from too (ctx is that call's).
func passReplayed(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	var md metadata.MD
	err := invoker(ctx, method, req, reply, cc, append(opts, grpc.Header(&md))...)
	if len(md.Get(ReplayedHeader)) > 0 {
		_ = grpc.SetHeader(ctx, metadata.Pairs(ReplayedHeader, "true")) // not a call's context (a test's): nothing to tell
	}
	return err
}

// Close closes every connection.
func (p *Peers) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, c := range p.conns {
		c.Close()
		delete(p.conns, k)
	}
}

// ServerIdentity returns the identity in the certificate the server of a
// finished call presented.
func ServerIdentity(pr *peer.Peer) (pki.Identity, error) {
	if pr == nil {
		return pki.Identity{}, errors.New("federation: no peer")
	}
	ti, ok := pr.AuthInfo.(credentials.TLSInfo)
	if !ok || len(ti.State.PeerCertificates) == 0 {
		return pki.Identity{}, errors.New("federation: peer presented no certificate")
	}
	return pki.IdentityFromCert(ti.State.PeerCertificates[0])
}

// IdempotencyKey is the header a write's request ID travels in when it is
// not in the request itself (REST's Idempotency-Key, the web UI's forms).
const IdempotencyKey = "idempotency-key"

// ForwardContext turns an incoming call's context into the outgoing
// context of the same call sent on to another node: the caller's bearer
// token and the write's request ID (IdempotencyKey) go along (the next
// node checks the one and applies the write once under the other) and
// the hop count grows by one.
func ForwardContext(ctx context.Context) (context.Context, error) {
	in, _ := metadata.FromIncomingContext(ctx)
	hops := 0
	if v := in.Get(HopsHeader); len(v) > 0 {
		hops, _ = strconv.Atoi(v[0])
	}
	if hops >= maxForwardHops {
		return nil, ErrTooManyHops
	}
	out := metadata.Pairs(HopsHeader, strconv.Itoa(hops+1))
	for _, v := range in.Get("authorization") {
		out.Append("authorization", v)
	}
	if v := in.Get(IdempotencyKey); len(v) > 0 {
		out.Set(IdempotencyKey, v[0])
	}
	return metadata.NewOutgoingContext(ctx, out), nil
}
