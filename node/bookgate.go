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
// was done, ask again or ask another node), and so is a request that
// began before the restore and ended after its start, if it read (its
// answer, error or not, may come from part of a book) or was refused (a
// refusal did nothing, and may have been made from part of a book: "no
// such case"). A write done, or that may have been done (OUTCOME_UNKNOWN,
// a deadline), is answered as it is. /readyz says so meanwhile, so a load
// balancer sends the office's clients to its other nodes. Of the peer
// calls, the two that read the book for another office or an operator
// (CasesThrough, Backup) are gated the same way.

// bookGate checks the book's generation (casebook.Book.Generation) at a
// request's start and, for a read or a refusal, before its answer is
// sent.
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
// server also serves federation's own, which the gate leaves alone but
// for peerReads: they are the office's, not a client's).
const clientServices = "/yizhan.v1."

// peerReads are the peer calls that answer from the book: a restored
// office taking back its cases from a neighbour, and a backup.
var peerReads = map[string]bool{"/yizhan.peer.v1.Peer/CasesThrough": true, "/yizhan.peer.v1.Peer/Backup": true}

// gated reports whether the gate stands before a call.
func gated(fullMethod string) bool {
	return strings.HasPrefix(fullMethod, clientServices) || peerReads[fullMethod]
}

// readsOnly reports whether a client API method only reads.
func readsOnly(fullMethod string) bool {
	if peerReads[fullMethod] {
		return true
	}
	name := fullMethod[strings.LastIndexByte(fullMethod, '/')+1:]
	for _, p := range []string{"Get", "List", "Export", "Verify", "WhoAmI"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// verdict is what a call that entered with ticket answers instead of
// err, its handler's answer: BOOK_RESTORING when the book was replaced
// meanwhile and the call read, or was refused; err otherwise.
func (g bookGate) verdict(ticket uint64, read bool, err error) error {
	if !read && (err == nil || mayHaveBeenDone(toStatus(err))) {
		return err // a write done, or perhaps done: look first
	}
	if lerr := g.Left(ticket); lerr != nil {
		return lerr
	}
	return err
}

// unary is the gate of gRPC calls.
func (g bookGate) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if !gated(info.FullMethod) {
		return handler(ctx, req)
	}
	ticket, err := g.Enter()
	if err != nil {
		return nil, err
	}
	resp, err := handler(ctx, req)
	if v := g.verdict(ticket, readsOnly(info.FullMethod), err); v != err {
		return nil, v
	}
	return resp, err
}

// stream is the gate of gRPC streams: at their start, and at their end
// for a read (a backup's stream ends with BOOK_RESTORING, not OK, when
// the book was replaced while it was read: the backup is not whole).
func (g bookGate) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if !gated(info.FullMethod) {
		return handler(srv, ss)
	}
	ticket, err := g.Enter()
	if err != nil {
		return err
	}
	return g.verdict(ticket, readsOnly(info.FullMethod), handler(srv, ss))
}

// gatewayTicket is the context key of a REST call's ticket.
type gatewayTicket struct{}

// restCall is a REST call's ticket and whether it reads (GET, HEAD).
type restCall struct {
	ticket uint64
	read   bool
}

// gatewayMiddleware is the gate of REST calls at their start; the ticket
// goes with the call's context to forwardResponse (an answer) and
// errorHandler (an error).
func (g bookGate) gatewayMiddleware(mux **runtime.ServeMux) runtime.Middleware {
	return func(next runtime.HandlerFunc) runtime.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request, params map[string]string) {
			ticket, err := g.Enter()
			if err != nil {
				_, out := runtime.MarshalerForRequest(*mux, r)
				runtime.HTTPError(r.Context(), *mux, out, w, r, err)
				return
			}
			read := r.Method == http.MethodGet || r.Method == http.MethodHead || (r.Method == http.MethodPost && postReads[r.URL.Path])
			next(w, r.WithContext(context.WithValue(r.Context(), gatewayTicket{}, restCall{ticket, read})), params)
		}
	}
}

// postReads are the REST routes that read by POST (the body keeps what
// they are given out of the address): gated as the reads they are.
var postReads = map[string]bool{"/v1/cases:search": true}

// forwardResponse refuses a REST read's answer, before it is written,
// when the book was replaced while it was read.
func (g bookGate) forwardResponse(ctx context.Context, _ http.ResponseWriter, _ proto.Message) error {
	if c, ok := ctx.Value(gatewayTicket{}).(restCall); ok && c.read {
		return g.Left(c.ticket)
	}
	return nil
}

// errorHandler is the gateway's error handler (gatewayErrors) with the
// gate's verdict on the error.
func (g bookGate) errorHandler(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	if c, ok := ctx.Value(gatewayTicket{}).(restCall); ok {
		err = g.verdict(c.ticket, c.read, err)
	}
	gatewayErrors(ctx, mux, m, w, r, err)
}
