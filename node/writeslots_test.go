package node_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/node"
	"github.com/yizhan-gov/yizhan/reason"
)

// TestManyWritesAtOnceAreHeldToTheNodesSlots sends 300 filings at once
// to a node that serves 2 writes at once and queues 2 more, over gRPC and
// REST: each is either filed or refused at once with WRITES_BUSY (gRPC
// RESOURCE_EXHAUSTED with the wait to retry after; REST 429 with
// Retry-After), nothing else; every filing answered is in the book, and
// none refused is; and the node still answers reads meanwhile.
func TestManyWritesAtOnceAreHeldToTheNodesSlots(t *testing.T) {
	if testing.Short() {
		t.Skip("starts nodes")
	}
	f := newCaseBenchFed(t, false, func(c *node.Config) {
		c.HTTP = node.HTTPLimits{Writes: 2, WriteQueue: 2, QueueWait: 200 * time.Millisecond}
	})
	at := f.node("county-1")
	token := caseBenchLogin(t, at, "clerk")
	url := "http://" + at.HTTPAddr() + "/v1/cases"
	body := caseBenchFiling()
	conn, err := grpc.NewClient(at.HTTPAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cases := yizhanv1.NewCaseServiceClient(conn)
	held := at.Office().Cases().Len()

	const each = 150
	var mu sync.Mutex
	outcomes := map[string]int{}
	note := func(what string) {
		mu.Lock()
		outcomes[what]++
		mu.Unlock()
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range each {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
			<-start
			_, err := cases.FileCase(ctx, &yizhanv1.FileCaseRequest{ItemCode: tobacco().Code,
				Applicant: &yizhanv1.Applicant{Name: "张三", IdNumber: applicantID, Phone: "13907710001"},
				Materials: []*yizhanv1.SubmittedMaterial{{Name: "申请表", Copies: 1}}})
			note(grpcOutcome(err))
		})
		wg.Go(func() {
			hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
			<-start
			note(restOutcome(hc, url, token, body))
		})
	}
	close(start)
	// A read while the writes pile up is answered.
	admin := dial(t, at).login("clerk", password)
	if _, err := yizhanv1.NewCaseServiceClient(admin.conn).ListCases(admin.ctx(), &yizhanv1.ListCasesRequest{}); err != nil {
		t.Errorf("a listing while the writes pile up: %v", err)
	}
	wg.Wait()

	filed := outcomes["grpc filed"] + outcomes["rest filed"]
	busy := outcomes["grpc busy"] + outcomes["rest busy"]
	if filed+busy != 2*each {
		t.Errorf("outcomes %v: want every filing filed or refused WRITES_BUSY", outcomes)
	}
	if filed == 0 || busy == 0 {
		t.Errorf("outcomes %v: want some filed and some refused", outcomes)
	}
	if got := at.Office().Cases().Len() - held; got != filed {
		t.Errorf("%d filings answered, the book holds %d more cases", filed, got)
	}
	t.Logf("outcomes: %v", outcomes)
}

// grpcOutcome is "grpc filed", "grpc busy" (WRITES_BUSY or
// LISTINGS_BUSY with a wait to retry after), or what else the call
// answered.
func grpcOutcome(err error) string {
	if err == nil {
		return "grpc filed"
	}
	st := status.Convert(err)
	if r := reason.StatusReason(err); st.Code() == codes.ResourceExhausted && (r == reason.WritesBusy || r == reason.ListingsBusy) {
		for _, d := range st.Details() {
			if ri, ok := d.(*errdetails.RetryInfo); ok && ri.GetRetryDelay().AsDuration() > 0 {
				return "grpc busy"
			}
		}
		return "grpc busy without RetryInfo"
	}
	return "grpc " + err.Error()
}

// restOutcome files over REST and is "rest filed", "rest busy" (429,
// Retry-After, reason WRITES_BUSY), or what else it answered.
func restOutcome(hc *http.Client, url, token string, body []byte) string {
	req, err := http.NewRequest("POST", url, bytes.NewReader(body))
	if err != nil {
		return err.Error()
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := hc.Do(req)
	if err != nil {
		return "rest " + err.Error()
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	switch resp.StatusCode {
	case http.StatusOK:
		return "rest filed"
	case http.StatusTooManyRequests:
		var st struct {
			Code    int `json:"code"`
			Details []struct {
				Reason string `json:"reason"`
			} `json:"details"`
		}
		if err := json.Unmarshal(out, &st); err == nil && st.Code == int(codes.ResourceExhausted) &&
			len(st.Details) > 0 && st.Details[0].Reason == reason.WritesBusy && resp.Header.Get("Retry-After") == "1" {
			return "rest busy"
		}
	}
	return "rest " + resp.Status + " " + string(out)
}

// TestManyListingsAtOnceAreHeldToTheNodesRoom sends 60 listings of up to
// 1,000 cases at once to a node whose listings may hold 1,000 cases at
// once, with one more waiting: each is answered whole or refused with
// LISTINGS_BUSY (RESOURCE_EXHAUSTED, with the wait to retry after),
// nothing else.
func TestManyListingsAtOnceAreHeldToTheNodesRoom(t *testing.T) {
	if testing.Short() {
		t.Skip("starts nodes")
	}
	f := newCaseBenchFed(t, false, func(c *node.Config) {
		c.HTTP = node.HTTPLimits{Listed: 1000, ListingQueue: 1, QueueWait: 50 * time.Millisecond}
	})
	at := f.node("county-1")
	token := caseBenchLogin(t, at, "clerk")
	hc := caseBenchHTTP(16)
	defer hc.CloseIdleConnections()
	if _, _, err := caseBenchFileMany(hc, "http://"+at.HTTPAddr()+"/v1/cases", token, caseBenchFiling(), 16, 300, nil); err != nil {
		t.Fatal(err)
	}
	clerk := dial(t, at).login("clerk", password)
	cases := yizhanv1.NewCaseServiceClient(clerk.conn)
	var mu sync.Mutex
	outcomes := map[string]int{}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range 60 {
		wg.Go(func() {
			<-start
			resp, err := cases.ListCases(clerk.ctx(), &yizhanv1.ListCasesRequest{PageSize: 1000, History: true})
			what := grpcOutcome(err)
			switch {
			case err == nil && len(resp.GetCases()) == 300:
				what = "listed"
			case err == nil:
				what = "listed in part"
			case what == "grpc busy":
				what = "busy"
			}
			mu.Lock()
			outcomes[what]++
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	if outcomes["listed"]+outcomes["busy"] != 60 || outcomes["listed"] == 0 || outcomes["busy"] == 0 {
		t.Errorf("outcomes %v: want every listing answered whole or refused LISTINGS_BUSY, some of each", outcomes)
	}
	t.Logf("outcomes: %v", outcomes)
}

// TestASlowBodyHoldsNoWriteSlot: clients that send a write's body slowly
// (anonymous ones here, as many as the node serves and queues) do not
// keep a staff member's filing out: a write takes its slot once its body
// has arrived.
func TestASlowBodyHoldsNoWriteSlot(t *testing.T) {
	if testing.Short() {
		t.Skip("starts nodes")
	}
	f := newCaseBenchFed(t, false, func(c *node.Config) {
		c.HTTP = node.HTTPLimits{Writes: 1, WriteQueue: 1, QueueWait: 200 * time.Millisecond}
	})
	at := f.node("county-1")
	token := caseBenchLogin(t, at, "clerk")
	for _, path := range []string{"/v1/cases", "/ask"} {
		for range 3 {
			c, err := net.Dial("tcp", at.HTTPAddr())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			// The headers and a first byte of the body; the rest never comes.
			fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{", path)
		}
	}
	time.Sleep(300 * time.Millisecond) // the slow requests are in
	hc := caseBenchHTTP(1)
	defer hc.CloseIdleConnections()
	if got := restOutcome(hc, "http://"+at.HTTPAddr()+"/v1/cases", token, caseBenchFiling()); got != "rest filed" {
		t.Fatalf("a filing while slow bodies arrive: %s", got)
	}
}

// A county whose own clients' writes hold every one of its write slots
// still does the filings a township forwards up to it, and the township's
// citizen is answered: writes forwarded between nodes take slots of their
// own pool, so that they never wait for the slots the writes forwarding
// them hold (a node just become leader forwards to its own peer port; a
// county's writes passed down and a village's passed up cross). The
// county's own clients meanwhile are told it is busy.
func TestWritesForwardedToANodeDoNotWaitForItsClientsSlots(t *testing.T) {
	f := newTunedCaseFed(t, 1, func(_ string, c *node.Config) {
		c.HTTP.QueueWait = 300 * time.Millisecond
	})
	cn := f.nodes["county-1"]
	node.HoldWriteSlotsForTest(t, cn)
	filing := func(name string) *yizhanv1.FileCaseRequest {
		return &yizhanv1.FileCaseRequest{ItemCode: tobacco().Code, OfficeCode: county,
			Applicant: &yizhanv1.Applicant{Name: name, IdNumber: applicantID, Phone: "13907710009"},
			Materials: []*yizhanv1.SubmittedMaterial{{Name: "申请表", Copies: 1}}}
	}

	atCounty := dial(t, cn)
	_, err := caseClient(t, atCounty).FileCase(atCounty.ctx(), filing("韦明"))
	if got := grpcOutcome(err); got != "grpc busy" {
		t.Fatalf("a filing at the county whose write slots are all held: %s; want WRITES_BUSY", got)
	}
	held := cn.Office().Cases().Len()
	atTownship := dial(t, f.nodes["chengguan-1"])
	resp, err := caseClient(t, atTownship).FileCase(atTownship.ctx(), filing("蓝丽"))
	if err != nil {
		t.Fatalf("a filing at the township for the county, forwarded up while the county's own clients hold its write slots: %v", err)
	}
	if _, _, ok, err := cn.Office().Cases().Read(resp.GetCase().GetNumber()); !ok || err != nil {
		t.Errorf("the filing forwarded up, %s, is not in the county's book (%v)", resp.GetCase().GetNumber(), err)
	}
	if got := cn.Office().Cases().Len(); got != held+1 {
		t.Errorf("the county's book holds %d cases more; want 1", got-held)
	}
}
