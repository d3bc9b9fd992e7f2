package node_test

import (
	"encoding/binary"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/federation/badgerstore"
	"github.com/yizhan-gov/yizhan/reason"
)

// A county node whose book lost the last event of a case (its disk
// dropped a key it had acknowledged) answers staff who read the case,
// list its events or act on it with DATA_LOSS (CASE_DAMAGED) naming the
// case and the damage, where it panicked; verifying it says it is not
// valid; its other cases are read and acted on as before, and the case
// list still answers. The metric counts the case once, however often it
// is read.
func TestADamagedCaseIsAnsweredAsDamaged(t *testing.T) {
	f := newCaseFed(t, 1)
	agent := dial(t, f.nodes["dongcun-1"]).login("dongcun", password)
	damaged, sound := fileTobacco(t, agent, "张三").GetNumber(), fileTobacco(t, agent, "李四").GetNumber()
	for _, n := range []string{damaged, sound} {
		waitFor(t, "the county owns "+n, func() bool { return received(f.nodes["county-1"], n) }, 20*time.Second)
	}
	c, _ := f.nodes["county-1"].Office().Cases().Case(damaged)
	f.stop("county-1")
	db, err := badgerstore.OpenDB(filepath.Join(f.cfgs["county-1"].DataDir, "badger"), badgerstore.DBOptions{Small: true})
	if err != nil {
		t.Fatal(err)
	}
	txn := db.NewTransaction(true)
	last := "book/e/" + damaged + "\x00" + string(binary.BigEndian.AppendUint32(nil, c.GetLastSeq()))
	if err := txn.Delete([]byte(last)); err != nil {
		t.Fatal(err)
	}
	if err := txn.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	countyNode := f.restart("county-1")
	t.Cleanup(func() { countyNode.Close() })
	delete(f.nodes, "county-1") // its book is damaged on purpose: not checked at the end
	waitFor(t, "county-1 ready", countyNode.Ready, 20*time.Second)
	clerk := dial(t, countyNode).login("clerk", password)
	cl := caseClient(t, clerk)

	isDamaged := func(what string, err error) {
		t.Helper()
		st, _ := status.FromError(err)
		if st.Code() != codes.DataLoss || reason.Info(st).GetReason() != reason.CaseDamaged || reason.Info(st).GetMetadata()["number"] != damaged ||
			!strings.Contains(st.Message(), damaged) || !strings.Contains(st.Message(), "damaged") {
			t.Errorf("%s of the damaged case: %v; want DATA_LOSS, %s, naming the case and the damage", what, err, reason.CaseDamaged)
		}
	}
	_, err = cl.GetCase(clerk.ctx(), &yizhanv1.GetCaseRequest{Number: damaged})
	isDamaged("get", err)
	_, err = cl.ListCaseEvents(clerk.ctx(), &yizhanv1.ListCaseEventsRequest{Number: damaged})
	isDamaged("list the events", err)
	_, err = cl.Accept(clerk.ctx(), &yizhanv1.CaseActionRequest{Number: damaged})
	isDamaged("accept", err)
	v, err := cl.VerifyCase(clerk.ctx(), &yizhanv1.VerifyCaseRequest{Number: damaged})
	if err != nil || v.GetValid() || !strings.Contains(v.GetProblem(), "damaged") {
		t.Errorf("verify the damaged case: %v, %v; want not valid, saying it is damaged", v, err)
	}

	if got := metricValue(t, countyNode, "yizhan_casebook_cases_damaged"); got != "1" {
		t.Errorf("yizhan_casebook_cases_damaged after four reads of the damaged case: %s; want 1", got)
	}

	if _, err := cl.GetCase(clerk.ctx(), &yizhanv1.GetCaseRequest{Number: sound}); err != nil {
		t.Errorf("get a sound case: %v", err)
	}
	if _, err := cl.Accept(clerk.ctx(), &yizhanv1.CaseActionRequest{Number: sound}); err != nil {
		t.Errorf("accept a sound case: %v", err)
	}
	if _, err := cl.ListCases(clerk.ctx(), &yizhanv1.ListCasesRequest{}); err != nil {
		t.Errorf("list the cases: %v", err)
	}
}
