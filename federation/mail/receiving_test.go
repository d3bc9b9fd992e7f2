package mail

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/duty"
	"github.com/yizhan-gov/yizhan/federation/forward"
	"github.com/yizhan-gov/yizhan/federation/pki"
)

// TestAnOfficeSendingManyCallsAtOnceIsReceivedTwoAtATime: a village node
// that sends its township 20 calls at once (a mail sender keeps one in
// flight) has at most two of them checked and proposed at once; the
// others are answered Unavailable at once, which a sender backs off from
// and sends again, and nothing of them is stored.
func TestAnOfficeSendingManyCallsAtOnceIsReceivedTwoAtATime(t *testing.T) {
	ca := newCA(t)
	town := startOffice(t, ca, township, newRegistry(t, county, township, village), nil)
	release := make(chan struct{})
	var inside, most atomic.Int32
	town.owner.refuse = func(*peerv1.CaseCommand) error {
		n := inside.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		<-release
		inside.Add(-1)
		return nil
	}

	certPEM, keyPEM, err := ca.Issue(pki.Identity{Office: village, Node: village + "-9"}, []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	vb, err := pki.LoadPEM(certPEM, keyPEM, ca.CertPEM())
	if err != nil {
		t.Fatal(err)
	}
	peers := forward.NewPeers(vb, nil)
	defer peers.Close()
	conn, err := peers.Conn(town.addr, township)
	if err != nil {
		t.Fatal(err)
	}
	client := peerv1.NewPeerClient(conn)
	day := time.Date(2026, 3, 2, 0, 0, 0, 0, time.Local)

	const calls = 20
	var mu sync.Mutex
	codesGot := map[codes.Code]int{}
	var wg sync.WaitGroup
	for i := range calls {
		wg.Go(func() {
			d := day.AddDate(0, 0, i)
			z := &yizhanv1.ZeroReport{Id: duty.ZeroReportID(village, d.Format("20060102")), OfficeCode: village,
				Day: d.Format(time.DateOnly), By: "duty", ByName: "值班员", Note: "无情况"}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			_, err := client.DeliverCases(ctx, &peerv1.DeliverCasesRequest{Messages: []*peerv1.CaseMessage{
				{CaseNumber: z.GetId(), FromOffice: village, ZeroReport: z}}})
			mu.Lock()
			codesGot[status.Code(err)]++
			mu.Unlock()
		})
	}
	waitFor(t, "the calls answered or held", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return codesGot[codes.Unavailable] == calls-int(inside.Load()) && inside.Load() > 0
	}, 10*time.Second)
	time.Sleep(100 * time.Millisecond) // any more that would get in
	close(release)
	wg.Wait()
	if most.Load() > receivingPerSender {
		t.Errorf("%d calls of one office proposed at once, want at most %d", most.Load(), receivingPerSender)
	}
	if codesGot[codes.OK]+codesGot[codes.Unavailable] != calls || codesGot[codes.OK] == 0 {
		t.Errorf("answers %v: want the calls received or Unavailable", codesGot)
	}
	t.Logf("answers: %v, at most %d at once", codesGot, most.Load())
}
