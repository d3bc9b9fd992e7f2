package node_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/reason"
)

// While a node restores its office's book from a snapshot (a follower
// that fell far behind), what its database holds is part of a book: it
// answers no client from it, over gRPC, REST or the web UI, and says it
// is not ready; once the book is whole it answers again. (The node here
// restores a stream of its own book, fed through a pipe that stops
// half-way: the same book, so that it goes on as it was.)
func TestANodeRestoringItsBookAnswersNoOne(t *testing.T) {
	f := newCaseFed(t, 1)
	n := f.countyLeader()
	book := n.Office().Cases()
	var stream bytes.Buffer
	if _, err := book.Stream(&stream); err != nil {
		t.Fatal(err)
	}
	base := "http://" + n.HTTPAddr()
	get := func(path, token string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", base+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	answers := func(when string, whole bool) {
		t.Helper()
		_, err := f.admin.reg.ListOffices(f.admin.ctx(), &yizhanv1.ListOfficesRequest{})
		if refused := status.Code(err) == codes.Unavailable && reason.StatusReason(err) == reason.BookRestoring; refused == whole || (whole && err != nil) {
			t.Errorf("%s: gRPC answered %v", when, err)
		}
		code, body := get("/v1/items", f.admin.token)
		if refused := code == http.StatusServiceUnavailable && strings.Contains(body, reason.BookRestoring); refused == whole || (whole && code != http.StatusOK) {
			t.Errorf("%s: REST answered %d %s", when, code, body)
		}
		code, body = get("/items", "")
		if refused := code == http.StatusServiceUnavailable && strings.Contains(body, "正在从主节点同步全部办件数据"); refused == whole || (whole && code != http.StatusOK) {
			t.Errorf("%s: the web UI answered %d", when, code)
		}
		code, body = get("/readyz", "")
		if ready := code == http.StatusOK; ready != whole || (!whole && !strings.Contains(body, "restoring the office's case book")) {
			t.Errorf("%s: /readyz answered %d %s", when, code, body)
		}
	}
	answers("before", true)

	pr, pw := io.Pipe()
	restored := make(chan error, 1)
	go func() { restored <- book.Restore(pr) }()
	if _, err := pw.Write(stream.Bytes()[:stream.Len()/2]); err != nil {
		t.Fatal(err)
	}
	answers("part-way through the restore", false)
	if _, err := pw.Write(stream.Bytes()[stream.Len()/2:]); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	if err := <-restored; err != nil {
		t.Fatal(err)
	}
	answers("after", true)
}
