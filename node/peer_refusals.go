package node

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/yizhan-gov/yizhan/federation/netlimit"
	"github.com/yizhan-gov/yizhan/federation/pki"
)

// peerRefusals logs and counts what the peer port refuses for who the
// caller is (PermissionDenied, Unauthenticated): a node of the wrong office
// asking for a feed, a forged case message, a join from another office. A
// refusal is logged at warn once a minute per caller and method, so that a
// misconfigured node shows in the log without flooding it.
type peerRefusals struct {
	warn    *netlimit.Warner
	counter *prometheus.CounterVec
}

func newPeerRefusals(n *Node) *peerRefusals {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "yizhan_peer_refused_total", Help: "Calls on the peer port refused for who the caller is, by method and gRPC code.",
		ConstLabels: prometheus.Labels{"office": n.cfg.Office, "node": n.cfg.Name},
	}, []string{"method", "code"})
	n.metrics.reg.MustRegister(c)
	return &peerRefusals{warn: netlimit.NewWarner(n.log, time.Minute), counter: c}
}

func (r *peerRefusals) note(ctx context.Context, method string, err error) {
	code := status.Code(err)
	if code != codes.PermissionDenied && code != codes.Unauthenticated {
		return
	}
	r.counter.WithLabelValues(method, code.String()).Inc()
	caller := "unknown"
	if id, err := pki.PeerIdentity(ctx); err == nil {
		caller = "office " + id.Office
		if id.Node != "" {
			caller += " node " + id.Node
		}
	} else if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		caller = p.Addr.String()
	}
	r.warn.Warn(caller+" "+method, "refused a call on the peer port", "caller", caller, "method", method, "code", code.String(), "err", status.Convert(err).Message())
}

func (r *peerRefusals) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	resp, err := handler(ctx, req)
	if err != nil {
		r.note(ctx, info.FullMethod, err)
	}
	return resp, err
}

func (r *peerRefusals) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	err := handler(srv, ss)
	if err != nil {
		r.note(ss.Context(), info.FullMethod, err)
	}
	return err
}
