package node

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/yizhan-gov/yizhan/reason"
)

// The gate refuses every client call while the book is being replaced,
// and a read's answer when the book was replaced while it read; a write
// done meanwhile (forwarded to the leader) is answered as done. Raft's
// and federation's own calls pass.
func TestBookGate(t *testing.T) {
	var gen atomic.Uint64
	g := bookGate{generation: gen.Load}
	restoring := func(err error) bool {
		return status.Code(err) == codes.Unavailable && reason.StatusReason(err) == reason.BookRestoring
	}
	var answer error // the handler's error
	call := func(method string, during func()) (any, error) {
		return g.unary(context.Background(), nil, &grpc.UnaryServerInfo{FullMethod: method}, func(context.Context, any) (any, error) {
			during()
			if answer != nil {
				return nil, answer
			}
			return "answer", nil
		})
	}
	notFound := reason.Err(reason.CaseNotFound, "no such case")
	unknown := reason.Err(reason.OutcomeUnknown, "the leader changed")
	const (
		read  = "/yizhan.v1.CaseService/ListCases"
		write = "/yizhan.v1.CaseService/Accept"
		peer  = "/yizhan.peer.v1.Peer/Deliver"
	)
	nothing := func() {}
	restoreStarts := func() { gen.Add(1) }
	restoreRuns := func() { gen.Add(2) } // starts and ends while the call runs
	for _, tc := range []struct {
		name     string
		method   string
		answer   error
		before   func()
		during   func()
		refused  bool
		handlers int // calls of the handler
	}{
		{"a read", read, nil, nothing, nothing, false, 1},
		{"a read while restoring", read, nil, restoreStarts, nothing, true, 0},
		{"a write while restoring", write, nil, restoreStarts, nothing, true, 0},
		{"a read during which a restore starts", read, nil, nothing, restoreStarts, true, 1},
		{"a read during which a whole restore runs", read, nil, nothing, restoreRuns, true, 1},
		{"a read refused during which a restore starts", read, notFound, nothing, restoreStarts, true, 1},
		{"a write done during which a restore starts", write, nil, nothing, restoreStarts, false, 1},
		{"a write refused during which a restore starts", write, notFound, nothing, restoreStarts, true, 1},
		{"a write perhaps done during which a restore starts", write, unknown, nothing, restoreStarts, false, 1},
		{"a write refused", write, notFound, nothing, nothing, false, 1},
		{"a peer call while restoring", peer, nil, restoreStarts, nothing, false, 1},
		{"a peer read of the book while restoring", "/yizhan.peer.v1.Peer/CasesThrough", nil, restoreStarts, nothing, true, 0},
	} {
		gen.Store(0)
		tc.before()
		answer = tc.answer
		handled := 0
		resp, err := call(tc.method, func() { handled++; tc.during() })
		answered := (resp == "answer" && err == nil) || (resp == nil && err == tc.answer)
		if restoring(err) != tc.refused || handled != tc.handlers || (!tc.refused && !answered) {
			t.Errorf("%s: answered %v, %v after %d calls of the handler; want refused %v after %d", tc.name, resp, err, handled, tc.refused, tc.handlers)
		}
	}
	// A backup's stream during which a restore starts ends refused: what
	// it sent is not a whole book.
	gen.Store(2)
	err := g.stream(nil, nil, &grpc.StreamServerInfo{FullMethod: "/yizhan.peer.v1.Peer/Backup"}, func(any, grpc.ServerStream) error {
		restoreStarts()
		return nil
	})
	if !restoring(err) {
		t.Errorf("a backup during which a restore started ended with %v", err)
	}
	gen.Store(2)
	if err := g.stream(nil, nil, &grpc.StreamServerInfo{FullMethod: "/yizhan.peer.v1.Peer/Backup"}, func(any, grpc.ServerStream) error { return nil }); err != nil {
		t.Errorf("a backup of a whole book: %v", err)
	}

	for method, want := range map[string]bool{"/yizhan.v1.CaseService/GetCase": true, "/yizhan.v1.SupervisionService/ExportStatistics": true,
		"/yizhan.v1.CaseService/VerifyCase": true, "/yizhan.v1.CaseService/FileCase": false, "/yizhan.v1.RegistryService/UpdateItem": false} {
		if readsOnly(method) != want {
			t.Errorf("readsOnly(%s) = %v", method, !want)
		}
	}

	// REST: the middleware keeps a GET's ticket, and the answer is
	// refused before it is written if the book was replaced since.
	gen.Store(4)
	var ctx context.Context
	g.gatewayMiddleware(nil)(func(_ http.ResponseWriter, r *http.Request, _ map[string]string) { ctx = r.Context() })(
		httptest.NewRecorder(), httptest.NewRequest("GET", "/v1/cases", nil), nil)
	if err := g.forwardResponse(ctx, nil, nil); err != nil {
		t.Errorf("a REST read of a book not replaced: %v", err)
	}
	gen.Add(1)
	if err := g.forwardResponse(ctx, nil, nil); !restoring(err) {
		t.Errorf("a REST read during which a restore started: %v", err)
	}
	gen.Add(1) // whole again
	g.gatewayMiddleware(nil)(func(_ http.ResponseWriter, r *http.Request, _ map[string]string) { ctx = r.Context() })(
		httptest.NewRecorder(), httptest.NewRequest("POST", "/v1/cases", nil), nil)
	if err := g.forwardResponse(ctx, nil, nil); err != nil {
		t.Errorf("a REST write is refused at its answer: %v", err)
	}

	// REST errors: a GET refused (no such case) while a restore started
	// is answered BOOK_RESTORING, not 404; so is a write refused; a write
	// perhaps done keeps its answer.
	mux := runtime.NewServeMux()
	for _, tc := range []struct {
		method string
		err    error
		want   int
	}{
		{"GET", notFound, http.StatusServiceUnavailable},
		{"POST", notFound, http.StatusServiceUnavailable},
		{"POST", unknown, http.StatusConflict},
	} {
		gen.Store(8)
		r := httptest.NewRequest(tc.method, "/v1/cases/x", nil)
		g.gatewayMiddleware(&mux)(func(_ http.ResponseWriter, r *http.Request, _ map[string]string) { ctx = r.Context() })(httptest.NewRecorder(), r, nil)
		gen.Add(1)
		w := httptest.NewRecorder()
		g.errorHandler(ctx, mux, &runtime.JSONPb{}, w, r, tc.err)
		if w.Code != tc.want || (tc.want == http.StatusServiceUnavailable) != strings.Contains(w.Body.String(), reason.BookRestoring) {
			t.Errorf("REST %s answered %v while a restore started: %d %s", tc.method, tc.err, w.Code, w.Body)
		}
	}
}
