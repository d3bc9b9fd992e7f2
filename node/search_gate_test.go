package node

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/yizhan-gov/yizhan/reason"
)

// POST /v1/cases:search is ListCases, a read (readsOnly says so of its
// gRPC method), answered from the book. The REST gate told a read by its
// HTTP method (GET, HEAD), so this read was taken for a write: a search
// answered while a raft snapshot replaced the book (a case missing, an
// index half written) went out as it was, where the same search by GET,
// or by gRPC, is refused with BOOK_RESTORING.
func TestASearchByPOSTIsGatedAsTheReadItIs(t *testing.T) {
	var gen atomic.Uint64
	g := bookGate{generation: gen.Load}
	if !readsOnly("/yizhan.v1.CaseService/ListCases") {
		t.Fatal("ListCases is no read")
	}
	for _, tc := range []struct{ method, path, body string }{
		{http.MethodGet, "/v1/cases?history=true&applicant=450122198001010011", ""},
		{http.MethodPost, "/v1/cases:search", `{"history":true,"applicant":"450122198001010011"}`},
	} {
		gen.Store(4)
		var ctx context.Context
		g.gatewayMiddleware(nil)(func(_ http.ResponseWriter, r *http.Request, _ map[string]string) { ctx = r.Context() })(
			httptest.NewRecorder(), httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body)), nil)
		gen.Add(1) // a restore starts while the search reads the book
		err := g.forwardResponse(ctx, nil, nil)
		if status.Code(err) != codes.Unavailable || reason.StatusReason(err) != reason.BookRestoring {
			t.Errorf("%s %s, the book replaced while it read: answered (%v), want BOOK_RESTORING", tc.method, tc.path, err)
		}
	}
}
