package node_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/auth"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/federation/pki"
	"github.com/yizhan-gov/yizhan/node"
	"github.com/yizhan-gov/yizhan/reason"
)

// A valid resident ID number (GB 11643 check digit) for the tests.
const applicantID = "450122199001011237"

var allRights = []yizhanv1.Right{yizhanv1.Right_RIGHT_ACCEPT, yizhanv1.Right_RIGHT_REVIEW,
	yizhanv1.Right_RIGHT_APPROVE, yizhanv1.Right_RIGHT_CERTIFY, yizhanv1.Right_RIGHT_DELIVER}

// caseFed is a federation with a catalogue and staff for cases: the county
// holds every right on the tobacco licence, the villages may proxy-file
// and deliver it.
type caseFed struct {
	*fed
	admin *client
}

func newCaseFed(t testing.TB, countySize int) *caseFed {
	t.Helper()
	return newTunedCaseFed(t, countySize, nil)
}

// newTunedCaseFed is newCaseFed with tune applied to each node's
// configuration.
func newTunedCaseFed(t testing.TB, countySize int, tune func(name string, c *node.Config)) *caseFed {
	t.Helper()
	f := newFed(t)
	f.tune = tune
	f.startCounty(countySize)
	admin := dial(t, f.countyLeader()).login("admin", password)
	f.startTree(admin)
	ctx := admin.ctx()
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(admin.reg.CreateDepartment(ctx, &yizhanv1.CreateDepartmentRequest{Department: &yizhanv1.Department{Code: "yc", Name: "县烟草专卖局"}}))
	must(admin.reg.CreateItem(ctx, &yizhanv1.CreateItemRequest{Item: tobacco()}))
	must(admin.reg.CreateGrant(ctx, &yizhanv1.CreateGrantRequest{Grant: &yizhanv1.Grant{ItemCode: tobacco().Code, OfficeCode: county, Rights: allRights}}))
	must(admin.reg.CreateGrant(ctx, &yizhanv1.CreateGrantRequest{Grant: &yizhanv1.Grant{ItemCode: tobacco().Code, Tier: yizhanv1.Tier_TIER_VILLAGE,
		Rights: []yizhanv1.Right{yizhanv1.Right_RIGHT_PROXY_FILE, yizhanv1.Right_RIGHT_DELIVER}}}))
	for _, s := range []*yizhanv1.StaffMember{
		{Username: "clerk", Name: "陈静", OfficeCode: county, DepartmentCode: "yc", Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_CLERK, yizhanv1.Role_ROLE_REVIEWER}},
		{Username: "approver", Name: "王强", OfficeCode: county, DepartmentCode: "yc", Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_APPROVER}},
		{Username: "dongcun", Name: "黄秀英", OfficeCode: dongcun, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_AGENT}},
		{Username: "xicun", Name: "韦丽", OfficeCode: xicun, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_AGENT}},
	} {
		must(admin.reg.CreateStaff(ctx, &yizhanv1.CreateStaffRequest{Staff: s, Password: password}))
	}
	// Each node announces where it serves to the county's directory, a
	// registry write of its own retried with a backoff of up to 10 s: a
	// late one must not move the registry under a test that reads it.
	reg := f.nodes["county-1"].Registry()
	for name, cfg := range f.cfgs {
		waitFor(t, name+" in the county's directory", func() bool {
			return slices.ContainsFunc(reg.Nodes(cfg.Office), func(e *yizhanv1.NodeEntry) bool { return e.GetName() == cfg.Name })
		}, 30*time.Second)
	}
	idx := reg.Index()
	for _, n := range f.nodes {
		waitFor(t, n.Name()+" has the catalogue", func() bool { return n.Registry().Index() >= idx }, 20*time.Second)
	}
	return &caseFed{fed: f, admin: admin}
}

func caseClient(t testing.TB, c *client) yizhanv1.CaseServiceClient {
	return yizhanv1.NewCaseServiceClient(c.conn)
}

func fileTobacco(t *testing.T, agent *client, name string) *yizhanv1.Case {
	t.Helper()
	req := &yizhanv1.FileCaseRequest{
		RequestId: fmt.Sprintf("file-tobacco-%d", tobaccoFilings.Add(1)),
		ItemCode:  tobacco().Code,
		Applicant: &yizhanv1.Applicant{Name: name, IdNumber: applicantID, Phone: "13907710001"},
		Materials: []*yizhanv1.SubmittedMaterial{{Name: "申请表", Copies: 1}},
	}
	resp, err := sendUntilKnown(func() (*yizhanv1.CaseResponse, error) { return caseClient(t, agent).FileCase(agent.ctx(), req) })
	if err != nil {
		t.Fatalf("file a case: %v", err)
	}
	return resp.GetCase()
}

// tobaccoFilings numbers fileTobacco's request IDs.
var tobaccoFilings atomic.Int64

// sendUntilKnown sends a write under its request ID again, as a client
// does, while it is answered OUTCOME_UNKNOWN (its leader lost its lease
// with the write in flight, which a busy machine running the tests under
// the race detector now and then makes it do): the office applies it
// once, and answers the retry as the first if it was applied.
func sendUntilKnown[Resp any](send func() (Resp, error)) (Resp, error) {
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		resp, err := send()
		if reason.StatusReason(err) != reason.OutcomeUnknown || time.Now().After(deadline) {
			return resp, err
		}
	}
}

// fileTobaccoOnce files the tobacco licence for 韦丽 as c, under request
// ID id (a retry under the same ID is answered as the first), and gives
// the answer's header too (x-yizhan-replayed).
func fileTobaccoOnce(t *testing.T, c *client, id string) (*yizhanv1.Case, metadata.MD, error) {
	t.Helper()
	var header metadata.MD
	resp, err := caseClient(t, c).FileCase(c.ctx(), &yizhanv1.FileCaseRequest{RequestId: id, ItemCode: tobacco().Code,
		Applicant: &yizhanv1.Applicant{Name: "韦丽", IdNumber: applicantID, Phone: "13907710001"},
		Materials: []*yizhanv1.SubmittedMaterial{{Name: "申请表", Copies: 1}}}, grpc.Header(&header))
	return resp.GetCase(), header, err
}

// received reports whether node n's office has received (owns, after the
// RECEIVED event) the case.
func received(n *node.Node, number string) bool {
	c, ok := n.Office().Cases().Case(number)
	events := n.Office().Cases().Events(number)
	// The two reads must see the same log: an event applied between them
	// would pair one log's owner with another's last event.
	if !ok || len(events) == 0 || len(events) != int(c.GetLastSeq()) {
		return false
	}
	last := events[len(events)-1]
	return c.GetOwnerOffice() == n.Office().Code() && last.GetType() != yizhanv1.EventType_EVENT_TYPE_FORWARDED
}

// caseAt waits until node n holds case number in state want.
func caseAt(t *testing.T, n *node.Node, number string, want yizhanv1.CaseState, timeout time.Duration) *yizhanv1.Case {
	t.Helper()
	var c *yizhanv1.Case
	waitFor(t, fmt.Sprintf("%s holds %s in %s", n.Name(), number, want), func() bool {
		var ok bool
		c, ok = n.Office().Cases().Case(number)
		return ok && c.GetState() == want
	}, timeout)
	return c
}

func TestCaseFiledAtVillageIsDecidedAtCountyAndDeliveredBack(t *testing.T) {
	f := newCaseFed(t, 1)
	agent := dial(t, f.nodes["dongcun-1"]).login("dongcun", password)
	filed := fileTobacco(t, agent, "张三")
	if filed.GetQueryCode() == "" || filed.GetNumber() == "" {
		t.Fatalf("filing answer lacks number or query code: %v", filed)
	}
	if filed.GetApplicant().GetIdNumber() != applicantID {
		t.Errorf("the filing agent sees the ID number %q", filed.GetApplicant().GetIdNumber())
	}
	number := filed.GetNumber()

	// The case travels up to the county, which may accept it.
	countyNode := f.nodes["county-1"]
	waitFor(t, "county owns the case", func() bool { return received(countyNode, number) }, 20*time.Second)

	clerk := dial(t, countyNode).login("clerk", password)
	approver := dial(t, countyNode).login("approver", password)
	cc, ac := caseClient(t, clerk), caseClient(t, approver)
	if _, err := cc.Accept(clerk.ctx(), &yizhanv1.CaseActionRequest{Number: number}); err != nil {
		t.Fatalf("accept: %v", err)
	}
	// The village that filed it sees it move on (status mirrors travel
	// down the route too), on its agent's list; an action there names
	// the office that holds it.
	village := f.nodes["dongcun-1"]
	villageSees := func(state yizhanv1.CaseState) {
		t.Helper()
		waitFor(t, "the village sees the case "+state.String(), func() bool {
			list, err := caseClient(t, agent).ListCases(agent.ctx(), &yizhanv1.ListCasesRequest{History: true})
			for _, c := range list.GetCases() {
				if c.GetNumber() == number {
					return err == nil && c.GetState() == state && c.GetOwnerOffice() == county
				}
			}
			return false
		}, 10*time.Second)
	}
	villageSees(yizhanv1.CaseState_CASE_STATE_ACCEPTED)
	if _, err := caseClient(t, agent).Deliver(agent.ctx(), &yizhanv1.CaseActionRequest{Number: number}); status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), county) {
		t.Errorf("an action at the village on a case the county holds: %v", err)
	}
	// Certify before the decision: the state says no.
	if _, err := cc.Certify(clerk.ctx(), &yizhanv1.CaseActionRequest{Number: number, CertificateNumber: "4501220001"}); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("certify before decision: %v, want FailedPrecondition", err)
	}
	if _, err := cc.Review(clerk.ctx(), &yizhanv1.CaseActionRequest{Number: number, Reason: "材料齐全", Agrees: true}); err != nil {
		t.Fatalf("review: %v", err)
	}
	// A clerk may not decide.
	if _, err := cc.Decide(clerk.ctx(), &yizhanv1.CaseActionRequest{Number: number, Approved: true, Reason: "符合条件"}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("clerk decides: %v, want PermissionDenied", err)
	}
	if _, err := ac.Decide(approver.ctx(), &yizhanv1.CaseActionRequest{Number: number, Approved: true}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("decide without a reason: %v, want InvalidArgument", err)
	}
	if _, err := ac.Decide(approver.ctx(), &yizhanv1.CaseActionRequest{Number: number, Approved: true, Reason: "符合烟草专卖零售许可条件"}); err != nil {
		t.Fatalf("decide: %v", err)
	}
	villageSees(yizhanv1.CaseState_CASE_STATE_APPROVED)
	if _, err := cc.Certify(clerk.ctx(), &yizhanv1.CaseActionRequest{Number: number, CertificateNumber: "4501220001"}); err != nil {
		t.Fatalf("certify: %v", err)
	}

	// Back down to the village, where the agent delivers.
	waitFor(t, "village owns the case again", func() bool { return received(village, number) }, 20*time.Second)
	if _, err := caseClient(t, agent).Deliver(agent.ctx(), &yizhanv1.CaseActionRequest{Number: number}); err != nil {
		t.Fatalf("deliver: %v", err)
	}
	caseAt(t, countyNode, number, yizhanv1.CaseState_CASE_STATE_CLOSED, 20*time.Second)

	// The citizen follows it at the other village, with number and query code.
	citizen := dial(t, f.nodes["xicun-1"])
	got, err := caseClient(t, citizen).GetCase(citizen.ctx(), &yizhanv1.GetCaseRequest{Number: number, QueryCode: filed.GetQueryCode()})
	if err != nil {
		t.Fatalf("citizen query at the other village: %v", err)
	}
	if got.GetCase().GetState() != yizhanv1.CaseState_CASE_STATE_CLOSED {
		t.Errorf("state at the other village = %v", got.GetCase().GetState())
	}
	if id := got.GetCase().GetApplicant().GetIdNumber(); id != casework.MaskIDNumber(applicantID) {
		t.Errorf("citizen sees ID %q, want it masked", id)
	}
	if _, err := caseClient(t, citizen).GetCase(citizen.ctx(), &yizhanv1.GetCaseRequest{Number: number, QueryCode: "00000000"}); status.Code(err) != codes.NotFound {
		t.Errorf("wrong query code: %v, want NotFound", err)
	}
	evs, err := caseClient(t, citizen).ListCaseEvents(citizen.ctx(), &yizhanv1.ListCaseEventsRequest{Number: number, QueryCode: filed.GetQueryCode()})
	if err != nil {
		t.Fatal(err)
	}
	if !evs.GetChainValid() {
		t.Error("hash chain not valid")
	}
	var types []yizhanv1.EventType
	for _, e := range evs.GetEvents() {
		types = append(types, e.GetType())
	}
	want := []yizhanv1.EventType{
		yizhanv1.EventType_EVENT_TYPE_FILED,
		yizhanv1.EventType_EVENT_TYPE_FORWARDED, yizhanv1.EventType_EVENT_TYPE_RECEIVED, // village → township
		yizhanv1.EventType_EVENT_TYPE_FORWARDED, yizhanv1.EventType_EVENT_TYPE_RECEIVED, // township → county
		yizhanv1.EventType_EVENT_TYPE_ACCEPTED, yizhanv1.EventType_EVENT_TYPE_REVIEWED,
		yizhanv1.EventType_EVENT_TYPE_DECIDED, yizhanv1.EventType_EVENT_TYPE_CERTIFIED,
		yizhanv1.EventType_EVENT_TYPE_FORWARDED, yizhanv1.EventType_EVENT_TYPE_RECEIVED, // county → township
		yizhanv1.EventType_EVENT_TYPE_FORWARDED, yizhanv1.EventType_EVENT_TYPE_RECEIVED, // township → village
		yizhanv1.EventType_EVENT_TYPE_DELIVERED, yizhanv1.EventType_EVENT_TYPE_CLOSED,
	}
	if fmt.Sprint(types) != fmt.Sprint(want) {
		t.Errorf("events:\n got %v\nwant %v", types, want)
	}
}

func TestCasesFiledWhileVillageIsCutOffArriveExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("500 cases: not in -short")
	}
	f := newCaseFed(t, 1)
	agent := dial(t, f.nodes["dongcun-1"]).login("dongcun", password)
	f.links["dongcun-1"].Cut()

	const cases = 500
	numbers := make(chan string, cases)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < cases; i += 8 {
				numbers <- fileTobacco(t, agent, fmt.Sprintf("申请人%d", i)).GetNumber()
			}
		}()
	}
	wg.Wait()
	close(numbers)
	countyNode := f.nodes["county-1"]
	if n := countyNode.Office().Cases().Len(); n != 0 {
		t.Fatalf("the county holds %d cases while the village is cut off", n)
	}
	// The township node is killed and restarted while the queue drains.
	f.links["dongcun-1"].Restore()
	waitFor(t, "some cases at the township", func() bool { return f.nodes["chengguan-1"].Office().Cases().Len() > 0 }, 20*time.Second)
	f.stop("chengguan-1")
	f.restart("chengguan-1")

	for number := range numbers {
		waitFor(t, number+" at the county", func() bool { return received(countyNode, number) }, 60*time.Second)
		events := countyNode.Office().Cases().Events(number)
		if err := casework.VerifyChain(number, events); err != nil {
			t.Errorf("%s: %v", number, err)
		}
		received := 0
		for _, e := range events {
			if e.GetType() == yizhanv1.EventType_EVENT_TYPE_RECEIVED && e.GetOfficeCode() == county {
				received++
			}
		}
		if received != 1 {
			t.Errorf("%s received %d times at the county", number, received)
		}
	}
	if n := countyNode.Office().Cases().Len(); n != cases {
		t.Errorf("the county holds %d cases, want %d", n, cases)
	}
}

func TestCountyLeaderKilledWhileDecidingLosesNoDecision(t *testing.T) {
	if testing.Short() {
		t.Skip("not in -short")
	}
	f := newCaseFed(t, 3)
	agent := dial(t, f.nodes["dongcun-1"]).login("dongcun", password)
	const cases = 30
	var numbers []string
	for i := range cases {
		numbers = append(numbers, fileTobacco(t, agent, fmt.Sprintf("申请人%d", i)).GetNumber())
	}
	leader := f.countyLeader()
	var via *node.Node
	for _, name := range f.countyNames() {
		if n := f.nodes[name]; n != leader {
			via = n
			break
		}
	}
	for _, number := range numbers {
		waitFor(t, number+" owned by the county", func() bool { return received(via, number) }, 30*time.Second)
	}
	clerk := dial(t, via).login("clerk", password)
	approver := dial(t, via).login("approver", password)
	retry := func(what string, call func() error) {
		t.Helper()
		for attempt := 0; ; attempt++ {
			err := call()
			if err == nil || status.Code(err) == codes.FailedPrecondition {
				return // done, or done before the answer was lost
			}
			// Unavailable: nothing done; OUTCOME_UNKNOWN: maybe done as
			// the leader was killed, which the same call again tells.
			if (status.Code(err) != codes.Unavailable && reason.StatusReason(err) != reason.OutcomeUnknown) || attempt > 200 {
				t.Fatalf("%s: %v", what, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	for i, number := range numbers {
		if i == cases/2 {
			f.stop(leader.Name())
		}
		retry("accept", func() error {
			_, err := caseClient(t, clerk).Accept(clerk.ctx(), &yizhanv1.CaseActionRequest{Number: number})
			return err
		})
		retry("review", func() error {
			_, err := caseClient(t, clerk).Review(clerk.ctx(), &yizhanv1.CaseActionRequest{Number: number, Reason: "材料齐全", Agrees: true})
			return err
		})
		retry("decide", func() error {
			_, err := caseClient(t, approver).Decide(approver.ctx(), &yizhanv1.CaseActionRequest{Number: number, Approved: true, Reason: "符合条件"})
			return err
		})
	}
	newLeader := f.countyLeader()
	for _, number := range numbers {
		c, ok := newLeader.Office().Cases().Case(number)
		if !ok || (c.GetState() != yizhanv1.CaseState_CASE_STATE_APPROVED && c.GetState() != yizhanv1.CaseState_CASE_STATE_CERTIFIED) {
			t.Errorf("%s: %v", number, c.GetState())
			continue
		}
		decided := 0
		for _, e := range newLeader.Office().Cases().Events(number) {
			if e.GetType() == yizhanv1.EventType_EVENT_TYPE_DECIDED {
				decided++
			}
		}
		if decided != 1 {
			t.Errorf("%s decided %d times", number, decided)
		}
	}
}

func TestForgedCaseMessagesAreRefusedAndLeaveNoTrace(t *testing.T) {
	f := newCaseFed(t, 1)
	agent := dial(t, f.nodes["dongcun-1"]).login("dongcun", password)
	filed := fileTobacco(t, agent, "李四")
	number := filed.GetNumber()
	township := f.nodes["chengguan-1"]
	townshipCode := township.Office().Code()
	waitFor(t, "township holds the case", func() bool { _, ok := township.Office().Cases().Case(number); return ok }, 20*time.Second)
	countyNode := f.nodes["county-1"]
	waitFor(t, "county owns the case", func() bool { return received(countyNode, number) }, 20*time.Second)
	held := countyNode.Office().Cases().Events(number)
	// The county's RECEIVED comes down to the township and the village
	// (status mirrors): wait for it, so that no log below moves on by
	// itself while the forgeries are tried.
	for _, n := range []*node.Node{township, f.nodes["dongcun-1"]} {
		waitFor(t, n.Name()+" holds the county's log", func() bool { return len(n.Office().Cases().Events(number)) == len(held) }, 20*time.Second)
	}

	// The village's own key, as a thief would have it.
	vb := f.bundle(dongcun, "dongcun-1")
	villageSigner := auth.NewIssuer(vb.Signer(), vb.Certificate.Certificate, dongcun, "dongcun-1", time.Hour, nil)
	sign := func(e *yizhanv1.CaseEvent, prev []byte) {
		casework.Seal(e, prev)
		sig, err := villageSigner.Sign(e.GetHash())
		if err != nil {
			t.Fatal(err)
		}
		e.Signature, e.SignerChain = sig, villageSigner.Chain()
	}
	villageEvents := f.nodes["dongcun-1"].Office().Cases().Events(number)
	last := villageEvents[len(villageEvents)-1]
	forged := &yizhanv1.CaseEvent{Seq: last.GetSeq() + 1, Type: yizhanv1.EventType_EVENT_TYPE_DECIDED, Approved: true,
		Reason: "我说了算", OfficeCode: dongcun, Actor: "dongcun", At: timestamppb.Now()}
	sign(forged, last.GetHash())
	msgs := append(append([]*yizhanv1.CaseEvent{}, villageEvents...), forged)

	tests := []struct {
		name   string
		bundle *pki.Bundle
		addr   string
		msg    *peerv1.CaseMessage
		code   codes.Code // for the call; OK means a refusal in the receipt
	}{
		{"village claims a county decision", vb, township.PeerAddr(),
			&peerv1.CaseMessage{CaseNumber: number, Events: msgs, FromOffice: dongcun}, codes.OK},
		{"village talks to the county directly", vb, countyNode.PeerAddr(),
			&peerv1.CaseMessage{CaseNumber: number, Events: msgs, FromOffice: dongcun}, codes.PermissionDenied},
		{"message claims another sender", vb, township.PeerAddr(),
			&peerv1.CaseMessage{CaseNumber: number, Events: villageEvents, FromOffice: xicun}, codes.OK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := township.Office().Cases().Events(number)
			pc := newPeerClient(t, tt.bundle, tt.addr)
			resp, err := pc.DeliverCases(context.Background(), &peerv1.DeliverCasesRequest{Messages: []*peerv1.CaseMessage{tt.msg}})
			if status.Code(err) != tt.code {
				t.Fatalf("deliver: %v, want %v", err, tt.code)
			}
			if err == nil && resp.GetReceipts()[0].GetRefused() == "" {
				t.Errorf("forged message receipted: %v", resp.GetReceipts()[0])
			}
			if got := township.Office().Cases().Events(number); len(got) != len(before) {
				t.Errorf("the forged message left a trace: %d events, had %d", len(got), len(before))
			}
		})
	}
	// A replayed old message changes nothing.
	pc := newPeerClient(t, f.bundle(townshipCode, "chengguan-1"), countyNode.PeerAddr())
	resp, err := pc.DeliverCases(context.Background(), &peerv1.DeliverCasesRequest{Messages: []*peerv1.CaseMessage{
		{CaseNumber: number, Events: held[:2], FromOffice: townshipCode}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := countyNode.Office().Cases().Events(number); len(got) != len(held) {
		t.Errorf("replay changed the county's log: %d events, had %d (receipt %v)", len(got), len(held), resp.GetReceipts())
	}
}

func TestCitizenWithdrawsAtAnotherOffice(t *testing.T) {
	f := newCaseFed(t, 1)
	agent := dial(t, f.nodes["dongcun-1"]).login("dongcun", password)
	filed := fileTobacco(t, agent, "赵六")
	number := filed.GetNumber()
	countyNode := f.nodes["county-1"]
	waitFor(t, "county owns the case", func() bool { return received(countyNode, number) }, 20*time.Second)

	// At 西村, which never held the case, with the query code only.
	citizen := dial(t, f.nodes["xicun-1"])
	cs := caseClient(t, citizen)
	if _, err := cs.Withdraw(citizen.ctx(), &yizhanv1.CaseActionRequest{Number: number, QueryCode: "12345678", Reason: "不再经营"}); status.Code(err) != codes.NotFound {
		t.Errorf("withdraw with a wrong query code: %v, want NotFound", err)
	}
	if _, err := cs.Withdraw(citizen.ctx(), &yizhanv1.CaseActionRequest{Number: number, QueryCode: filed.GetQueryCode()}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("withdraw without a reason: %v, want InvalidArgument", err)
	}
	resp, err := cs.Withdraw(citizen.ctx(), &yizhanv1.CaseActionRequest{Number: number, QueryCode: filed.GetQueryCode(), Reason: "不再经营"})
	if err != nil {
		t.Fatalf("withdraw at another village: %v", err)
	}
	if resp.GetCase().GetState() != yizhanv1.CaseState_CASE_STATE_WITHDRAWN {
		t.Errorf("state after withdrawal = %v", resp.GetCase().GetState())
	}
	caseAt(t, countyNode, number, yizhanv1.CaseState_CASE_STATE_WITHDRAWN, 5*time.Second)
}

func TestCitizenAtTheFilingVillageSeesTheCaseMoveOn(t *testing.T) {
	f := newCaseFed(t, 1)
	agent := dial(t, f.nodes["dongcun-1"]).login("dongcun", password)
	filed := fileTobacco(t, agent, "钱七")
	number := filed.GetNumber()
	countyNode := f.nodes["county-1"]
	waitFor(t, "county owns the case", func() bool { return received(countyNode, number) }, 20*time.Second)
	clerk := dial(t, countyNode).login("clerk", password)
	if _, err := caseClient(t, clerk).Accept(clerk.ctx(), &yizhanv1.CaseActionRequest{Number: number}); err != nil {
		t.Fatal(err)
	}
	// 东村's own copy stopped when the case left; the answer comes from above.
	citizen := dial(t, f.nodes["dongcun-1"])
	got, err := caseClient(t, citizen).GetCase(citizen.ctx(), &yizhanv1.GetCaseRequest{Number: number, QueryCode: filed.GetQueryCode()})
	if err != nil {
		t.Fatal(err)
	}
	if got.GetCase().GetState() != yizhanv1.CaseState_CASE_STATE_ACCEPTED || got.GetCase().GetDeadlines().GetPromisedDue() == nil {
		t.Errorf("citizen at the filing village sees %v, deadlines %v", got.GetCase().GetState(), got.GetCase().GetDeadlines())
	}
	// Cut off from above, the village answers with what it has.
	f.links["dongcun-1"].Cut()
	got, err = caseClient(t, citizen).GetCase(citizen.ctx(), &yizhanv1.GetCaseRequest{Number: number, QueryCode: filed.GetQueryCode()})
	if err != nil {
		t.Fatalf("query while cut off: %v", err)
	}
	if !got.GetCase().GetMirror() {
		t.Error("the village's own copy is not marked as a mirror")
	}
}

// closedCase files a tobacco licence at 东村, has the county decide and
// certify it and 东村 deliver it, and waits until the county holds it
// closed. It returns the filing's answer (with the query code).
func closedCase(t *testing.T, f *caseFed, name string) *yizhanv1.Case {
	t.Helper()
	agent := dial(t, f.nodes["dongcun-1"]).login("dongcun", password)
	filed := fileTobacco(t, agent, name)
	number := filed.GetNumber()
	countyNode := f.nodes["county-1"]
	waitFor(t, "county owns the case", func() bool { return received(countyNode, number) }, 20*time.Second)
	clerk := dial(t, countyNode).login("clerk", password)
	approver := dial(t, countyNode).login("approver", password)
	cc, ac := caseClient(t, clerk), caseClient(t, approver)
	steps := []struct {
		what string
		call func() error
	}{
		{"accept", func() error {
			_, err := cc.Accept(clerk.ctx(), &yizhanv1.CaseActionRequest{Number: number})
			return err
		}},
		{"review", func() error {
			_, err := cc.Review(clerk.ctx(), &yizhanv1.CaseActionRequest{Number: number, Reason: "材料齐全", Agrees: true})
			return err
		}},
		{"decide", func() error {
			_, err := ac.Decide(approver.ctx(), &yizhanv1.CaseActionRequest{Number: number, Approved: true, Reason: "符合条件"})
			return err
		}},
		{"certify", func() error {
			_, err := cc.Certify(clerk.ctx(), &yizhanv1.CaseActionRequest{Number: number, CertificateNumber: "4501220002"})
			return err
		}},
	}
	for _, s := range steps {
		if err := s.call(); err != nil {
			t.Fatalf("%s: %v", s.what, err)
		}
	}
	waitFor(t, "village owns the case again", func() bool { return received(f.nodes["dongcun-1"], number) }, 20*time.Second)
	if _, err := caseClient(t, agent).Deliver(agent.ctx(), &yizhanv1.CaseActionRequest{Number: number}); err != nil {
		t.Fatalf("deliver: %v", err)
	}
	caseAt(t, countyNode, number, yizhanv1.CaseState_CASE_STATE_CLOSED, 20*time.Second)
	return filed
}

func TestCitizenRatesAndComplainsAtAnyOffice(t *testing.T) {
	f := newCaseFed(t, 1)
	filed := closedCase(t, f, "孙八")
	number, code := filed.GetNumber(), filed.GetQueryCode()
	countyNode, dongcunNode := f.nodes["county-1"], f.nodes["dongcun-1"]

	// At 西村, which never held the case: the rating goes to 东村, the
	// office that delivered the case and owns it.
	citizen := dial(t, f.nodes["xicun-1"])
	cs := caseClient(t, citizen)
	rate := func(r *yizhanv1.CaseActionRequest) error {
		_, err := cs.Rate(citizen.ctx(), r)
		return err
	}
	if err := rate(&yizhanv1.CaseActionRequest{Number: number, QueryCode: "12345678", Rating: yizhanv1.Rating_RATING_VERY_SATISFIED}); status.Code(err) != codes.NotFound {
		t.Errorf("rate with a wrong query code: %v, want NotFound", err)
	}
	if err := rate(&yizhanv1.CaseActionRequest{Number: number, Rating: yizhanv1.Rating_RATING_VERY_SATISFIED}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("rate without a query code: %v, want InvalidArgument", err)
	}
	if err := rate(&yizhanv1.CaseActionRequest{Number: number, QueryCode: code}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("rate without a rating: %v, want InvalidArgument", err)
	}
	if err := rate(&yizhanv1.CaseActionRequest{Number: number, QueryCode: code, Rating: yizhanv1.Rating_RATING_VERY_DISSATISFIED}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("a bad rating without a comment: %v, want InvalidArgument", err)
	}
	// Staff signed in may not rate, not even with the query code.
	agent := dial(t, dongcunNode).login("dongcun", password)
	if _, err := caseClient(t, agent).Rate(agent.ctx(), &yizhanv1.CaseActionRequest{Number: number, QueryCode: code, Rating: yizhanv1.Rating_RATING_VERY_SATISFIED}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("rate by a signed-in agent: %v, want PermissionDenied", err)
	}
	if _, err := caseClient(t, agent).Complain(agent.ctx(), &yizhanv1.CaseActionRequest{Number: number, QueryCode: code, Reason: "x"}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("complaint by a signed-in agent: %v, want PermissionDenied", err)
	}
	if got, _ := countyNode.Office().Cases().Case(number); got.GetRating() != yizhanv1.Rating_RATING_UNSPECIFIED || got.GetComplaints() != 0 {
		t.Fatalf("refused requests left a rating %s, %d complaints", got.GetRating(), got.GetComplaints())
	}

	resp, err := cs.Rate(citizen.ctx(), &yizhanv1.CaseActionRequest{Number: number, QueryCode: code, Rating: yizhanv1.Rating_RATING_VERY_SATISFIED, Reason: "代办员服务周到"})
	if err != nil {
		t.Fatalf("rate at the other village: %v", err)
	}
	c := resp.GetCase()
	if c.GetRating() != yizhanv1.Rating_RATING_VERY_SATISFIED || c.GetRatingComment() != "代办员服务周到" || c.GetState() != yizhanv1.CaseState_CASE_STATE_CLOSED || c.GetOwnerOffice() != dongcun {
		t.Errorf("after rating: %s %q, %s, owner %s", c.GetRating(), c.GetRatingComment(), c.GetState(), c.GetOwnerOffice())
	}
	if id := c.GetApplicant().GetIdNumber(); id != casework.MaskIDNumber(applicantID) {
		t.Errorf("the citizen's answer shows the ID number %q", id)
	}
	events := dongcunNode.Office().Cases().Events(number)
	if last := events[len(events)-1]; last.GetType() != yizhanv1.EventType_EVENT_TYPE_RATED || last.GetOfficeCode() != dongcun || last.GetActor() != casework.CitizenActor {
		t.Errorf("东村's last event: %s by %s at %s", last.GetType(), last.GetActor(), last.GetOfficeCode())
	}
	// It is mirrored up to the county by itself.
	waitFor(t, "the county has the rating", func() bool {
		got, _ := countyNode.Office().Cases().Case(number)
		return got.GetRating() == yizhanv1.Rating_RATING_VERY_SATISFIED
	}, 20*time.Second)

	// Once only, wherever asked.
	if err := rate(&yizhanv1.CaseActionRequest{Number: number, QueryCode: code, Rating: yizhanv1.Rating_RATING_SATISFIED}); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("a second rating: %v, want FailedPrecondition", err)
	}
	county := dial(t, countyNode)
	if _, err := caseClient(t, county).Rate(county.ctx(), &yizhanv1.CaseActionRequest{Number: number, QueryCode: code, Rating: yizhanv1.Rating_RATING_SATISFIED}); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("a second rating at the county: %v, want FailedPrecondition", err)
	}

	// A complaint at the county, which holds a copy only: it goes to 东村.
	if _, err := caseClient(t, county).Complain(county.ctx(), &yizhanv1.CaseActionRequest{Number: number, QueryCode: "87654321", Reason: "x"}); status.Code(err) != codes.NotFound {
		t.Errorf("complaint with a wrong query code: %v, want NotFound", err)
	}
	if _, err := caseClient(t, county).Complain(county.ctx(), &yizhanv1.CaseActionRequest{Number: number, QueryCode: code}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("complaint without a reason: %v, want InvalidArgument", err)
	}
	resp, err = caseClient(t, county).Complain(county.ctx(), &yizhanv1.CaseActionRequest{Number: number, QueryCode: code, Reason: "证照领取时多等了半小时"})
	if err != nil {
		t.Fatalf("complaint at the county: %v", err)
	}
	if resp.GetCase().GetComplaints() != 1 || resp.GetCase().GetRating() != yizhanv1.Rating_RATING_VERY_SATISFIED {
		t.Errorf("after the complaint: %d complaints, rating %s", resp.GetCase().GetComplaints(), resp.GetCase().GetRating())
	}

	// Over REST, at 东村: a second complaint, and a second rating refused.
	base := "http://" + dongcunNode.HTTPAddr()
	st, body := restCall(t, "POST", base+"/v1/cases/"+number+":complain", "", `{"query_code":"`+code+`","reason":"复印收费不合理"}`)
	if st != 200 {
		t.Fatalf("REST complain: %d %v", st, body)
	}
	if n := body["case"].(map[string]any)["complaints"]; n != float64(2) {
		t.Errorf("REST complain: complaints %v, want 2", n)
	}
	st, body = restCall(t, "POST", base+"/v1/cases/"+number+":rate", "", `{"query_code":"`+code+`","rating":"RATING_DISSATISFIED"}`)
	if msg, _ := body["message"].(string); st != 400 || body["code"] != float64(codes.FailedPrecondition) || !strings.Contains(msg, "rated already") {
		t.Errorf("REST: a second rating: %d %v, want 400 FAILED_PRECONDITION, rated already", st, body)
	}
	waitFor(t, "the county counts both complaints", func() bool {
		got, _ := countyNode.Office().Cases().Case(number)
		return got.GetComplaints() == 2
	}, 20*time.Second)
}

func TestCitizenComplainsAboutACaseInProgress(t *testing.T) {
	f := newCaseFed(t, 1)
	agent := dial(t, f.nodes["dongcun-1"]).login("dongcun", password)
	filed := fileTobacco(t, agent, "周九")
	number := filed.GetNumber()
	countyNode := f.nodes["county-1"]
	waitFor(t, "county owns the case", func() bool { return received(countyNode, number) }, 20*time.Second)

	// At the filing village, whose copy is behind: the complaint goes up.
	citizen := dial(t, f.nodes["dongcun-1"])
	cs := caseClient(t, citizen)
	resp, err := cs.Complain(citizen.ctx(), &yizhanv1.CaseActionRequest{Number: number, QueryCode: filed.GetQueryCode(), Reason: "三天了还没受理"})
	if err != nil {
		t.Fatalf("complaint at the filing village: %v", err)
	}
	if c := resp.GetCase(); c.GetComplaints() != 1 || c.GetState() != yizhanv1.CaseState_CASE_STATE_FILED || c.GetOwnerOffice() != county {
		t.Errorf("after the complaint: %d complaints, %s, owner %s", c.GetComplaints(), c.GetState(), c.GetOwnerOffice())
	}
	// A case in progress cannot be rated.
	if _, err := cs.Rate(citizen.ctx(), &yizhanv1.CaseActionRequest{Number: number, QueryCode: filed.GetQueryCode(), Rating: yizhanv1.Rating_RATING_SATISFIED}); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("rating a case in progress: %v, want FailedPrecondition", err)
	}
	// The county goes on with it.
	clerk := dial(t, countyNode).login("clerk", password)
	if _, err := caseClient(t, clerk).Accept(clerk.ctx(), &yizhanv1.CaseActionRequest{Number: number}); err != nil {
		t.Fatalf("accept after a complaint: %v", err)
	}
}
