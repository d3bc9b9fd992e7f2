package node_test

import (
	"testing"
	"time"

	"google.golang.org/grpc/metadata"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/node"
)

// The office's memory of requests goes by the times in its raft log: a
// request is forgotten a day after its command's time, once a later
// command's time passes that. A filing's (and every case action's)
// command was stamped by the machine's clock where the office's other
// writes take the office's (Config.Now): with the office's clock two days
// ahead of the machine's, the next other write (here a supervision order)
// forgot the filing at once, and the clerk's retry of it, its answer
// lost, filed the citizen a second case.
func TestAFilingRetriedAfterTheOfficesNextWriteIsFiledOnce(t *testing.T) {
	f := newTunedCaseFed(t, 1, func(_ string, c *node.Config) {
		c.Now = func() time.Time { return time.Now().Add(48 * time.Hour) }
	})
	ctx := f.admin.ctx()
	if _, err := f.admin.reg.CreateStaff(ctx, &yizhanv1.CreateStaffRequest{Staff: &yizhanv1.StaffMember{Username: "jiancha", Name: "李监察",
		OfficeCode: county, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_SUPERVISOR}}, Password: password}); err != nil {
		t.Fatal(err)
	}
	countyNode := f.nodes["county-1"]
	clerk := dial(t, countyNode).login("clerk", password)
	file := func() (*yizhanv1.Case, metadata.MD) {
		t.Helper()
		c, header, err := fileTobaccoOnce(t, clerk, "filing-1")
		if err != nil {
			t.Fatalf("file: %v", err)
		}
		return c, header
	}
	first, _ := file()

	sup := dial(t, countyNode).login("jiancha", password)
	if _, err := yizhanv1.NewSupervisionServiceClient(sup.conn).IssueOrder(sup.ctx(), &yizhanv1.IssueOrderRequest{
		CaseNumber: first.GetNumber(), Instruction: "请说明受理情况"}); err != nil {
		t.Fatalf("issue an order: %v", err)
	}

	again, header := file()
	if again.GetNumber() != first.GetNumber() {
		t.Errorf("the filing retried under its request ID filed case %s; the first filed %s", again.GetNumber(), first.GetNumber())
	}
	if got := header.Get("x-yizhan-replayed"); len(got) != 1 || got[0] != "true" {
		t.Errorf("the retry's answer: x-yizhan-replayed %v, want true", got)
	}
	if n := countyNode.Office().Cases().Len(); n != 1 {
		t.Errorf("the county holds %d cases after one filing sent twice, want 1", n)
	}
}
