package node

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

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
	call := func(method string, during func()) (any, error) {
		return g.unary(context.Background(), nil, &grpc.UnaryServerInfo{FullMethod: method}, func(context.Context, any) (any, error) {
			during()
			return "answer", nil
		})
	}
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
		before   func()
		during   func()
		refused  bool
		handlers int // calls of the handler
	}{
		{"a read", read, nothing, nothing, false, 1},
		{"a read while restoring", read, restoreStarts, nothing, true, 0},
		{"a write while restoring", write, restoreStarts, nothing, true, 0},
		{"a read during which a restore starts", read, nothing, restoreStarts, true, 1},
		{"a read during which a whole restore runs", read, nothing, restoreRuns, true, 1},
		{"a write during which a restore starts", write, nothing, restoreStarts, false, 1},
		{"a peer call while restoring", peer, restoreStarts, nothing, false, 1},
	} {
		gen.Store(0)
		tc.before()
		handled := 0
		resp, err := call(tc.method, func() { handled++; tc.during() })
		if restoring(err) != tc.refused || handled != tc.handlers || (err == nil) != (resp == "answer") {
			t.Errorf("%s: answered %v, %v after %d calls of the handler; want refused %v after %d", tc.name, resp, err, handled, tc.refused, tc.handlers)
		}
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
}
