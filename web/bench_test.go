package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// queueCases answers ListCases with n cases in different states.
type queueCases struct {
	fakeCases
	cases []*yizhanv1.Case
}

func (q *queueCases) ListCases(context.Context, *yizhanv1.ListCasesRequest) (*yizhanv1.ListCasesResponse, error) {
	return &yizhanv1.ListCasesResponse{Cases: q.cases}, nil
}

func manyCases(n int) []*yizhanv1.Case {
	out := make([]*yizhanv1.Case, n)
	for i := range out {
		c := filedCase()
		c.Number = fmt.Sprintf("450122101203-20261127-%04d", i+1)
		c.State = yizhanv1.CaseState(1 + i%5)
		c.FiledAt = timestamppb.New(now.Add(-time.Duration(i) * time.Hour))
		c.Deadlines = &yizhanv1.Deadlines{
			AcceptedAt: timestamppb.New(now.Add(-48 * time.Hour)), PromisedDue: timestamppb.New(now.Add(72 * time.Hour)),
			StatutoryDue: timestamppb.New(now.Add(240 * time.Hour)), PromisedDaysLeft: int32(i%12 - 2), Running: i%5 > 1,
		}
		out[i] = c
	}
	return out
}

// BenchmarkQueuePage renders an office's queue of 1,000 cases (the API's
// ListCases is a fake: this measures the page, not the case book) and
// reports the bytes sent gzipped.
func BenchmarkQueuePage(b *testing.B) {
	f := newFixture(b)
	q := &queueCases{cases: manyCases(1000)}
	h, err := New(Config{Registry: f.reg, Auth: f.auth, Cluster: yizhanv1.UnimplementedClusterServiceServer{}, Cases: q,
		Office: county, Node: "county-1", Now: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	var size, raw int
	for b.Loop() {
		req := httptest.NewRequest("GET", "/cases", nil)
		req.Header.Set("Accept-Encoding", "gzip")
		req.AddCookie(session(adminClerkToken))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d", w.Code)
		}
		size = w.Body.Len()
	}
	req := httptest.NewRequest("GET", "/cases", nil)
	req.AddCookie(session(adminClerkToken))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	raw = w.Body.Len()
	b.ReportMetric(float64(size), "gzip-bytes")
	b.ReportMetric(float64(raw), "html-bytes")
}
