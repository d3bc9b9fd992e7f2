package node

import (
	"context"
	"net/http"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/yizhan-gov/yizhan/casebook"
)

// While a follower that fell far behind restores its office's book from
// the leader's snapshot (casebook.Book.Restore: seconds, about 5 s for
// 100,000 cases), its database holds part of a book: a case missing, an
// index half written. The book's readers take no lock, so the node
// answers no client request from it then: every client request (gRPC,
// REST, the web UI) is refused with BOOK_RESTORING (Unavailable; nothing
// was done, ask again or ask another node), and a read that began
// before the restore and ended after its start is refused too, not
// answered from what it read. /readyz says so meanwhile, so a load
// balancer sends the office's clients to its other nodes.
//
// Writes are refused at the start only: one that was forwarded to the
// leader and done there is answered as done.

// bookGate checks the book's generation (casebook.Book.Generation) at a
// request's start and, for a read, before its answer is sent.
type bookGate struct{ generation func() uint64 }

func newBookGate(n *Node) bookGate {
	return bookGate{generation: func() uint64 { return n.office.Cases().Generation() }}
}

// Enter is the ticket of a request starting now, or BOOK_RESTORING
// while the book is being replaced (a gRPC status).
func (g bookGate) Enter() (uint64, error) {
	gen := g.generation()
	if gen%2 == 1 {
		return 0, toStatus(casebook.ErrReplacing)
	}
	return gen, nil
}

// Left is nil when the book was not replaced, even in part, since the
// request with ticket entered: what it read is one book's.
func (g bookGate) Left(ticket uint64) error {
	if g.generation() != ticket {
		return toStatus(casebook.ErrReplacing)
	}
	return nil
}

// clientServices is the prefix of the client API's methods (the peer
// server also serves raft's and federation's own, which the gate leaves
// alone: they are the office's, not a client's).
const clientServices = "/yizhan.v1."

// readsOnly reports whether a client API method only reads.
func readsOnly(fullMethod string) bool {
	name := fullMethod[strings.LastIndexByte(fullMethod, '/')+1:]
	for _, p := range []string{"Get", "List", "Export", "Verify", "WhoAmI"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// unary is the gate of gRPC calls.
func (g bookGate) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if !strings.HasPrefix(info.FullMethod, clientServices) {
		return handler(ctx, req)
	}
	ticket, err := g.Enter()
	if err != nil {
		return nil, err
	}
	resp, err := handler(ctx, req)
	if readsOnly(info.FullMethod) {
		if lerr := g.Left(ticket); lerr != nil {
			return nil, lerr
		}
	}
	return resp, err
}

// stream is the gate of gRPC streams, at their start.
func (g bookGate) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if strings.HasPrefix(info.FullMethod, clientServices) {
		if _, err := g.Enter(); err != nil {
			return err
		}
	}
	return handler(srv, ss)
}

// gatewayTicket is the context key of a REST read's ticket.
type gatewayTicket struct{}

// gatewayMiddleware is the gate of REST calls at their start; a GET's
// ticket goes with its context to forwardResponse.
func (g bookGate) gatewayMiddleware(mux **runtime.ServeMux) runtime.Middleware {
	return func(next runtime.HandlerFunc) runtime.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request, params map[string]string) {
			ticket, err := g.Enter()
			if err != nil {
				_, out := runtime.MarshalerForRequest(*mux, r)
				runtime.HTTPError(r.Context(), *mux, out, w, r, err)
				return
			}
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				r = r.WithContext(context.WithValue(r.Context(), gatewayTicket{}, ticket))
			}
			next(w, r, params)
		}
	}
}

// forwardResponse refuses a REST read's answer, before it is written,
// when the book was replaced while it was read.
func (g bookGate) forwardResponse(ctx context.Context, _ http.ResponseWriter, _ proto.Message) error {
	if ticket, ok := ctx.Value(gatewayTicket{}).(uint64); ok {
		return g.Left(ticket)
	}
	return nil
}
