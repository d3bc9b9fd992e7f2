package node_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/node"
	"github.com/yizhan-gov/yizhan/reason"
)

// withKey sends a write's request ID as the Idempotency-Key (REST's
// header, the web UI's forms), not in the request.
func withKey(ctx context.Context, id string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "idempotency-key", id)
}

// A registry write sent to a township node with its request ID as the
// Idempotency-Key is forwarded to the county with it: sent twice, it is
// applied once, those with a password (CreateStaff, UpdateStaff, whose
// ID was set on a copy without the secrets) too.
func TestIdempotencyKeyOfAStaffWriteForwardedUp(t *testing.T) {
	f := newFed(t)
	f.startCounty(1)
	admin := dial(t, f.nodes["county-1"]).login("admin", password)
	f.startTree(admin)
	c := dial(t, f.nodes["chengguan-1"])
	c.token = admin.token

	// Control: no secret field, the header is written into the message.
	dep := &yizhanv1.CreateDepartmentRequest{Department: &yizhanv1.Department{Code: "mz", Name: "县民政局"}}
	if _, err := c.reg.CreateDepartment(withKey(c.ctx(), "once-dep-1"), proto.CloneOf(dep)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.reg.CreateDepartment(withKey(c.ctx(), "once-dep-1"), proto.CloneOf(dep)); err != nil {
		t.Errorf("control: CreateDepartment retried with its Idempotency-Key at the township: %v", err)
	}

	req := &yizhanv1.CreateStaffRequest{Password: password,
		Staff: &yizhanv1.StaffMember{Username: "once1", Name: "审计", OfficeCode: county, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_CLERK}}}
	first, err := c.reg.CreateStaff(withKey(c.ctx(), "once-staff-1"), proto.CloneOf(req))
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.reg.CreateStaff(withKey(c.ctx(), "once-staff-1"), proto.CloneOf(req))
	if err != nil {
		t.Errorf("CreateStaff retried with its Idempotency-Key at the township: %v (want the first answer, replayed)", err)
	} else if !proto.Equal(first, again) {
		t.Errorf("retry answered %v, first %v", again, first)
	}
	upd := &yizhanv1.UpdateStaffRequest{Username: "once1", NewPassword: "another-Passw0rd!",
		Staff: &yizhanv1.StaffMember{Username: "once1", Name: "审计二", OfficeCode: county, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_CLERK}}}
	before := f.nodes["county-1"].Registry().Index()
	for range 2 {
		if _, err := c.reg.UpdateStaff(withKey(c.ctx(), "once-staff-2"), proto.CloneOf(upd)); err != nil {
			t.Fatalf("UpdateStaff: %v", err)
		}
	}
	entries, _ := f.nodes["county-1"].Registry().ChangelogSince(before, 0)
	n := 0
	for _, e := range entries {
		if e.GetCommand().GetUpdateStaff() != nil {
			n++
		}
	}
	if n != 1 {
		t.Errorf("UpdateStaff sent twice under one Idempotency-Key made %d registry entries, want 1", n)
	}
}

// A citizen's online filing at the township for an item the county takes
// in, its request ID in the Idempotency-Key, sent twice, files one case.
func TestIdempotencyKeyOfAnOnlineFilingForwardedUp(t *testing.T) {
	f := newCaseFed(t, 1)
	citizen := dial(t, f.nodes["chengguan-1"])
	req := &yizhanv1.FileCaseRequest{ItemCode: tobacco().Code, OfficeCode: county,
		Applicant: &yizhanv1.Applicant{Name: "蓝丽", IdNumber: applicantID, Phone: "13907710009"},
		Materials: []*yizhanv1.SubmittedMaterial{{Name: "申请表", Copies: 1}}}
	a, err := caseClient(t, citizen).FileCase(withKey(citizen.ctx(), "once-file-1"), proto.CloneOf(req))
	if err != nil {
		t.Fatal(err)
	}
	var header metadata.MD
	b, err := caseClient(t, citizen).FileCase(withKey(citizen.ctx(), "once-file-1"), proto.CloneOf(req), grpc.Header(&header))
	if err != nil {
		t.Fatal(err)
	}
	if a.GetCase().GetNumber() != b.GetCase().GetNumber() || a.GetCase().GetQueryCode() != b.GetCase().GetQueryCode() {
		t.Errorf("one online filing sent twice under one Idempotency-Key filed %s and %s", a.GetCase().GetNumber(), b.GetCase().GetNumber())
	}
	// The county answered the retry as a replay; the township, which
	// forwarded it, says so too.
	if got := header.Get("x-yizhan-replayed"); len(got) != 1 || got[0] != "true" {
		t.Errorf("the retry's answer at the township: x-yizhan-replayed %v, want true", got)
	}
	// Control: the same request ID in the field.
	req.RequestId = "once-file-2"
	a, _ = caseClient(t, citizen).FileCase(citizen.ctx(), proto.CloneOf(req))
	b, _ = caseClient(t, citizen).FileCase(citizen.ctx(), proto.CloneOf(req))
	if a.GetCase().GetNumber() != b.GetCase().GetNumber() {
		t.Errorf("control: with the field, filed %s and %s", a.GetCase().GetNumber(), b.GetCase().GetNumber())
	}
}

// A supervision order issued at a county follower with its request ID in
// the Idempotency-Key (the web UI's way), sent twice, is one order.
func TestIdempotencyKeyOfAnOrderForwardedToTheCountyLeader(t *testing.T) {
	f := newCaseFed(t, 3)
	leader := f.countyLeader()
	var follower string
	for _, name := range f.countyNames() {
		if name != leader.Name() {
			follower = name
			break
		}
	}
	if _, err := f.admin.reg.CreateStaff(f.admin.ctx(), &yizhanv1.CreateStaffRequest{Staff: &yizhanv1.StaffMember{Username: "jiancha", Name: "李监察",
		OfficeCode: county, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_SUPERVISOR}}, Password: password}); err != nil {
		t.Fatal(err)
	}
	idx := leader.Registry().Index()
	waitFor(t, "the follower has the supervisor", func() bool { return f.nodes[follower].Registry().Index() >= idx }, 10*time.Second)
	clerk := dial(t, leader).login("clerk", password)
	filed, err := caseClient(t, clerk).FileCase(clerk.ctx(), &yizhanv1.FileCaseRequest{ItemCode: tobacco().Code,
		Applicant: &yizhanv1.Applicant{Name: "韦丽", IdNumber: applicantID, Phone: "13907710001"},
		Materials: []*yizhanv1.SubmittedMaterial{{Name: "申请表", Copies: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	sup := dial(t, f.nodes[follower]).login("jiancha", password)
	sv := yizhanv1.NewSupervisionServiceClient(sup.conn)
	req := &yizhanv1.IssueOrderRequest{CaseNumber: filed.GetCase().GetNumber(), Instruction: "请说明情况"}
	for range 2 {
		if _, err := sv.IssueOrder(withKey(sup.ctx(), "once-order-1"), proto.CloneOf(req)); err != nil {
			t.Fatalf("IssueOrder: %v", err)
		}
	}
	os, err := sv.ListOrders(sup.ctx(), &yizhanv1.ListOrdersRequest{CaseNumber: filed.GetCase().GetNumber()})
	if err != nil {
		t.Fatal(err)
	}
	if len(os.GetOrders()) != 1 {
		t.Errorf("one order sent twice under one Idempotency-Key: %d orders", len(os.GetOrders()))
	}
}

// UpdateReport retried with its request ID after the draft was signed
// answers as it did the first time, not FAILED_PRECONDITION.
func TestUpdateReportReplayedAfterTheSignature(t *testing.T) {
	f := dutyFed(t, nil)
	village := f.nodes["dongcun-1"]
	officer := dial(t, village).login("dc-duty", password)
	leader := dial(t, village).login("dc-leader", password)
	vduty := yizhanv1.NewDutyServiceClient(officer.conn)
	lduty := yizhanv1.NewDutyServiceClient(leader.conn)
	w, err := vduty.WriteReport(officer.ctx(), &yizhanv1.WriteReportRequest{Report: firstReport(time.Now().Add(-30 * time.Minute)), RequestId: "once-w-1"})
	if err != nil {
		t.Fatal(err)
	}
	id := w.GetReport().GetId()
	next := firstReport(time.Now().Add(-30 * time.Minute))
	next.Injured = 2
	upd := &yizhanv1.UpdateReportRequest{Id: id, Report: next, RequestId: "once-u-1"}
	first, err := vduty.UpdateReport(officer.ctx(), proto.CloneOf(upd))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lduty.SignReport(leader.ctx(), &yizhanv1.SignReportRequest{Id: id, RequestId: "once-s-1"}); err != nil {
		t.Fatal(err)
	}
	again, err := vduty.UpdateReport(officer.ctx(), proto.CloneOf(upd))
	if err != nil {
		t.Errorf("UpdateReport retried with its request ID after the sign: %v (want the first answer)", err)
	} else if again.GetReport().GetVersion() != first.GetReport().GetVersion() {
		t.Errorf("replayed version %d, first %d", again.GetReport().GetVersion(), first.GetReport().GetVersion())
	}
}

// CloseOrder and ReturnOrder share DecideOrderRequest: a ReturnOrder under
// the request ID of a CloseOrder with the same body is another request
// (ABORTED), not a replay of the close.
func TestCloseAndReturnAreTwoRequests(t *testing.T) {
	f := newCaseFed(t, 1)
	if _, err := f.admin.reg.CreateStaff(f.admin.ctx(), &yizhanv1.CreateStaffRequest{Staff: &yizhanv1.StaffMember{Username: "jiancha", Name: "李监察",
		OfficeCode: county, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_SUPERVISOR}}, Password: password}); err != nil {
		t.Fatal(err)
	}
	clerk := dial(t, f.nodes["county-1"]).login("clerk", password)
	filed, err := caseClient(t, clerk).FileCase(clerk.ctx(), &yizhanv1.FileCaseRequest{ItemCode: tobacco().Code,
		Applicant: &yizhanv1.Applicant{Name: "韦丽", IdNumber: applicantID, Phone: "13907710001"},
		Materials: []*yizhanv1.SubmittedMaterial{{Name: "申请表", Copies: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	sup := dial(t, f.nodes["county-1"]).login("jiancha", password)
	sv := yizhanv1.NewSupervisionServiceClient(sup.conn)
	csv := yizhanv1.NewSupervisionServiceClient(clerk.conn)
	o, err := sv.IssueOrder(sup.ctx(), &yizhanv1.IssueOrderRequest{CaseNumber: filed.GetCase().GetNumber(), Instruction: "请说明"})
	if err != nil {
		t.Fatal(err)
	}
	id := o.GetOrder().GetId()
	if _, err := csv.AnswerOrder(clerk.ctx(), &yizhanv1.AnswerOrderRequest{Id: id, Kind: "说明情况", Text: "已回复"}); err != nil {
		t.Fatal(err)
	}
	closed, err := sv.CloseOrder(sup.ctx(), &yizhanv1.DecideOrderRequest{Id: id, Reason: "同意", RequestId: "once-decide-1"})
	if err != nil {
		t.Fatal(err)
	}
	ret, err := sv.ReturnOrder(sup.ctx(), &yizhanv1.DecideOrderRequest{Id: id, Reason: "同意", RequestId: "once-decide-1"})
	if status.Code(err) != codes.Aborted {
		t.Errorf("ReturnOrder under CloseOrder's request ID: %v (state %s, closed answer state %s), want ABORTED",
			err, ret.GetOrder().GetState(), closed.GetOrder().GetState())
	}
	if again, err := sv.CloseOrder(sup.ctx(), &yizhanv1.DecideOrderRequest{Id: id, Reason: "同意", RequestId: "once-decide-1"}); err != nil ||
		again.GetOrder().GetState() != closed.GetOrder().GetState() {
		t.Errorf("the close retried: %v, %v", again, err)
	}
}

// The hash of a ChangePassword leaves both passwords out, and a retry of
// a change made is answered before the old password (no longer it) is
// checked: it is answered only to whoever knows the password it set,
// never to a used request ID with any passwords.
func TestAChangePasswordReplayWantsTheNewPassword(t *testing.T) {
	f := newFed(t)
	f.startCounty(1)
	admin := dial(t, f.nodes["county-1"]).login("admin", password)
	if _, err := admin.reg.CreateStaff(admin.ctx(), &yizhanv1.CreateStaffRequest{Password: password,
		Staff: &yizhanv1.StaffMember{Username: "lilei", Name: "李雷", OfficeCode: "450122000000", Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_CLERK}}}); err != nil {
		t.Fatal(err)
	}
	anon := dial(t, f.nodes["county-1"])
	if _, err := anon.reg.ChangePassword(anon.ctx(), &yizhanv1.ChangePasswordRequest{Username: "lilei", OldPassword: password,
		NewPassword: "Lilei-own-2027", RequestId: "once-cp-1"}); err != nil {
		t.Fatal(err)
	}
	got, err := anon.reg.ChangePassword(anon.ctx(), &yizhanv1.ChangePasswordRequest{Username: "lilei", OldPassword: "not-the-password",
		NewPassword: "Attacker-2027!", RequestId: "once-cp-1"})
	if status.Code(err) != codes.Unauthenticated {
		t.Errorf("ChangePassword with a wrong old password under a used request ID: %v, %v; want Unauthenticated", got, err)
	}
	// Its own retry, which knows the password it set, is answered.
	if _, err := anon.reg.ChangePassword(anon.ctx(), &yizhanv1.ChangePasswordRequest{Username: "lilei", OldPassword: password,
		NewPassword: "Lilei-own-2027", RequestId: "once-cp-1"}); err != nil {
		t.Errorf("the change retried: %v", err)
	}
	dial(t, f.nodes["county-1"]).login("lilei", "Lilei-own-2027")
}

// A write without a request ID sent to a county follower, which forwards
// it to the leader; the connection to the leader drops after the leader
// applied it (gRPC: UNAVAILABLE, which the forwarder takes for "did
// nothing" from a node that answered so, not from a lost connection).
// The write is sent on under the request ID the forwarder gave it, and is
// applied once; if no other node answers, its outcome is unknown, never
// "unreachable, safe to retry".
func TestAWriteWhoseConnectionDroppedIsAppliedOnce(t *testing.T) {
	f := newFed(t)
	f.startCounty(3)
	leader := f.countyLeader()
	admin := dial(t, leader).login("admin", password)
	if _, err := admin.reg.CreateDepartment(admin.ctx(), &yizhanv1.CreateDepartmentRequest{Department: &yizhanv1.Department{Code: "yc", Name: "县烟草专卖局"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.reg.CreateItem(admin.ctx(), &yizhanv1.CreateItemRequest{Item: tobacco()}); err != nil {
		t.Fatal(err)
	}
	var follower *node.Node
	for _, name := range f.countyNames() {
		if name != leader.Name() {
			follower = f.nodes[name]
			break
		}
	}
	waitFor(t, "the follower knows where the leader serves", func() bool {
		for _, e := range follower.Registry().Nodes(county) {
			if e.GetName() == leader.Name() && e.GetPeerAddress() != "" {
				return true
			}
		}
		return false
	}, 30*time.Second)
	idx := leader.Registry().Index()
	waitFor(t, "the follower has the item", func() bool { return follower.Registry().Index() >= idx }, 10*time.Second)
	before, err := admin.reg.GetItem(admin.ctx(), &yizhanv1.GetItemRequest{Code: tobacco().Code})
	if err != nil {
		t.Fatal(err)
	}
	c2 := dial(t, follower)
	c2.token = admin.token
	to := f.peerAddrs(leader.Name())[0]
	l := f.links[follower.Name()]
	l.Hang(to)
	done := make(chan error, 1)
	go func() {
		_, err := c2.reg.UpdateItem(c2.ctx(), &yizhanv1.UpdateItemRequest{Item: &yizhanv1.Item{Code: tobacco().Code, PromisedLimitDays: 5, ChangeNote: "提速"}})
		done <- err
	}()
	waitFor(t, "the update applied at the leader", func() bool {
		it, err := admin.reg.GetItem(admin.ctx(), &yizhanv1.GetItemRequest{Code: tobacco().Code})
		return err == nil && it.GetItem().GetVersion() > before.GetItem().GetVersion()
	}, 10*time.Second)
	l.Block(to) // the connection the answer was to come back on drops
	l.Unhang(to)
	l.Unblock(to)
	err = <-done
	time.Sleep(500 * time.Millisecond)
	mid, _ := admin.reg.GetItem(admin.ctx(), &yizhanv1.GetItemRequest{Code: tobacco().Code})
	if err != nil && mid.GetItem().GetVersion() > before.GetItem().GetVersion() {
		if d, ok := reason.Lookup(reason.StatusReason(err)); ok && d.Retry == reason.RetrySafe {
			t.Errorf("the write was applied, yet answered %s, whose catalogue entry says safe to retry (nothing done)", reason.StatusReason(err))
		}
	}
	after, _ := admin.reg.GetItem(admin.ctx(), &yizhanv1.GetItemRequest{Code: tobacco().Code})
	if d := after.GetItem().GetVersion() - before.GetItem().GetVersion(); d != 1 {
		t.Errorf("one UpdateItem (no request ID) through a follower moved the item %d versions", d)
	}
}

// A citizen's retries cost the address's allowance of online filings and
// questions nothing, also when a node forwarded them to its leader and
// the leader answered them as replays: seven sends of one filing, and of
// one question, at a county follower are all answered, where five new
// ones are the burst.
func TestRetriesForwardedToTheLeaderCostNoAllowance(t *testing.T) {
	f := newCaseFed(t, 3)
	leader := f.countyLeader()
	var follower *node.Node
	for _, name := range []string{"county-1", "county-2", "county-3"} {
		if n := f.nodes[name]; n != leader {
			follower = n
			break
		}
	}
	citizen := dial(t, follower)
	req := &yizhanv1.FileCaseRequest{ItemCode: tobacco().Code,
		Applicant: &yizhanv1.Applicant{Name: "蓝丽", IdNumber: applicantID, Phone: "13907710009"},
		Materials: []*yizhanv1.SubmittedMaterial{{Name: "申请表", Copies: 1}}}
	var first string
	for i := range 7 {
		resp, err := caseClient(t, citizen).FileCase(withKey(citizen.ctx(), "allowance-file-1"), proto.CloneOf(req))
		if err != nil {
			t.Fatalf("send %d of one online filing at a county follower: %v", i+1, err)
		}
		if i == 0 {
			first = resp.GetCase().GetNumber()
		} else if got := resp.GetCase().GetNumber(); got != first {
			t.Fatalf("send %d filed %s, the first %s", i+1, got, first)
		}
	}
	sup := yizhanv1.NewSupervisionServiceClient(citizen.conn)
	ask := &yizhanv1.AskQuestionRequest{ItemCode: tobacco().Code, Question: "开小卖部卖烟要办什么手续?", RequestId: "allowance-ask-1"}
	for i := range 7 {
		if _, err := sup.AskQuestion(citizen.ctx(), proto.CloneOf(ask)); err != nil {
			t.Fatalf("send %d of one question at a county follower: %v", i+1, err)
		}
	}
	// Control: new filings still count. One filing and one question
	// were new: three more are let through, the fourth waits.
	for i := range 4 {
		r := proto.CloneOf(req)
		r.RequestId = fmt.Sprintf("allowance-new-%d", i)
		_, err := caseClient(t, citizen).FileCase(citizen.ctx(), r)
		if want := codes.OK; i == 3 {
			if status.Code(err) != codes.ResourceExhausted {
				t.Errorf("a sixth new filing or question from one address: %v, want ResourceExhausted", err)
			}
		} else if status.Code(err) != want {
			t.Fatalf("new filing %d: %v", i+1, err)
		}
	}
}
