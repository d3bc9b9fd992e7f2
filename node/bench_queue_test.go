package node_test

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"testing"
	"time"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// BenchmarkQueuePage measures the web UI's queue page of an office with
// 1,000 cases on a real node: the case book, the clocks of every case, the
// page rendered and gzipped, over HTTP on loopback. It reports the bytes
// transferred and the server time (as the client sees it on loopback).
func BenchmarkQueuePage(b *testing.B) {
	if testing.Short() {
		b.Skip("not in -short")
	}
	f := newCaseFed(b, 1)
	countyNode := f.nodes["county-1"]
	clerk := dial(b, countyNode).login("clerk", password)
	cs := yizhanv1.NewCaseServiceClient(clerk.conn)
	const cases = 1000
	for i := range cases {
		resp, err := cs.FileCase(clerk.ctx(), &yizhanv1.FileCaseRequest{
			ItemCode:  tobacco().Code,
			Applicant: &yizhanv1.Applicant{Name: fmt.Sprintf("申请人%d", i), IdNumber: applicantID, Phone: "13907710001"},
			Materials: []*yizhanv1.SubmittedMaterial{{Name: "申请表", Copies: 1}},
		})
		if err != nil {
			b.Fatal(err)
		}
		if i%3 == 0 { // a third accepted, so their clocks run
			if _, err := cs.Accept(clerk.ctx(), &yizhanv1.CaseActionRequest{Number: resp.GetCase().GetNumber()}); err != nil {
				b.Fatal(err)
			}
		}
	}
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	get := func() (int, time.Duration) {
		req, _ := http.NewRequest("GET", "http://"+countyNode.HTTPAddr()+"/cases", nil)
		req.Header.Set("Accept-Encoding", "gzip")
		req.AddCookie(&http.Cookie{Name: "yz_session", Value: clerk.token})
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("GET /cases: %d", resp.StatusCode)
		}
		return int(n), time.Since(start)
	}
	var lat []time.Duration
	size := 0
	for b.Loop() {
		var d time.Duration
		size, d = get()
		lat = append(lat, d)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(size), "gzip-bytes")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
