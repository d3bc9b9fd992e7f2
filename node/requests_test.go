package node_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/node"
)

// A client that did not hear the answer sends the write again with the
// same request ID: it gets the first answer, and the write takes effect
// once. Another write under a used ID is a conflict (409).
func TestEveryWriteRetriedWithItsRequestIDHasOneEffect(t *testing.T) {
	f := newCaseFed(t, 1)
	admin := f.admin
	county := f.nodes["county-1"]
	twice := func(what string, call func() (proto.Message, error)) proto.Message {
		t.Helper()
		first, err := call()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		again, err := call()
		if err != nil {
			t.Fatalf("%s again with its request ID: %v", what, err)
		}
		if !proto.Equal(first, again) {
			t.Errorf("%s again answered\n%v\nnot the first answer\n%v", what, again, first)
		}
		return first
	}
	conflict := func(what string, err error) {
		t.Helper()
		if status.Code(err) != codes.Aborted {
			t.Errorf("%s: another body under a used request ID: %v, want ABORTED", what, err)
		}
	}

	// The registry's writes.
	before := county.Registry().Index()
	twice("create an office", func() (proto.Message, error) {
		return admin.reg.CreateOffice(admin.ctx(), &yizhanv1.CreateOfficeRequest{RequestId: "office-1", Office: &yizhanv1.Office{Code: "450122102000", Name: "石埠镇便民服务中心"}})
	})
	twice("create a department", func() (proto.Message, error) {
		return admin.reg.CreateDepartment(admin.ctx(), &yizhanv1.CreateDepartmentRequest{RequestId: "dep-1", Department: &yizhanv1.Department{Code: "mz", Name: "县民政局"}})
	})
	_, err := admin.reg.CreateDepartment(admin.ctx(), &yizhanv1.CreateDepartmentRequest{RequestId: "dep-1", Department: &yizhanv1.Department{Code: "sw", Name: "县税务局"}})
	conflict("create a department", err)
	item := tobacco()
	item.Code, item.Name = "450122-MZ-001", "婚姻登记"
	item.DepartmentCode = "mz"
	twice("create an item", func() (proto.Message, error) {
		return admin.reg.CreateItem(admin.ctx(), &yizhanv1.CreateItemRequest{RequestId: "item-1", Item: item})
	})
	upd := twice("update an item", func() (proto.Message, error) {
		return admin.reg.UpdateItem(admin.ctx(), &yizhanv1.UpdateItemRequest{RequestId: "item-2", Item: &yizhanv1.Item{Code: item.Code, PromisedLimitDays: 5, ChangeNote: "提速"}})
	})
	if v := upd.(*yizhanv1.ItemWriteResponse).GetItem().GetVersion(); v != 2 {
		t.Errorf("the item is at version %d after one update sent twice, want 2", v)
	}
	g := twice("create a grant", func() (proto.Message, error) {
		return admin.reg.CreateGrant(admin.ctx(), &yizhanv1.CreateGrantRequest{RequestId: "grant-1", Grant: &yizhanv1.Grant{ItemCode: item.Code, OfficeCode: "450122000000", Rights: allRights}})
	})
	twice("revoke a grant", func() (proto.Message, error) {
		return admin.reg.RevokeGrant(admin.ctx(), &yizhanv1.RevokeGrantRequest{RequestId: "grant-2", Id: g.(*yizhanv1.GrantWriteResponse).GetGrant().GetId()})
	})
	twice("create staff", func() (proto.Message, error) {
		return admin.reg.CreateStaff(admin.ctx(), &yizhanv1.CreateStaffRequest{RequestId: "staff-1", Password: password,
			Staff: &yizhanv1.StaffMember{Username: "lilei", Name: "李雷", OfficeCode: "450122000000", DepartmentCode: "mz", Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_CLERK}}})
	})
	twice("put a calendar", func() (proto.Message, error) {
		return admin.reg.PutCalendar(admin.ctx(), &yizhanv1.PutCalendarRequest{RequestId: "cal-1", Year: 2027,
			Calendar: &yizhanv1.Calendar{Year: 2027, Days: []*yizhanv1.CalendarDay{{Date: "2027-01-01", Kind: yizhanv1.DayKind_DAY_KIND_HOLIDAY, Name: "元旦"}}}})
	})
	entries, _ := county.Registry().ChangelogSince(before, 0)
	ids := map[string]int{}
	for _, e := range entries {
		if id := e.GetCommand().GetRequestId(); id != "" {
			ids[id]++
		}
	}
	if len(ids) != 8 {
		t.Errorf("8 registry writes, each sent twice, made entries for %d request IDs: %v", len(ids), ids)
	}
	for id, n := range ids {
		if n != 1 {
			t.Errorf("request %s entered the registry's log %d times", id, n)
		}
	}

	// Cases: a filing, a staff action, the citizen's complaint.
	agent := dial(t, f.nodes["dongcun-1"]).login("dongcun", password)
	cases := caseClient(t, agent)
	filing := &yizhanv1.FileCaseRequest{RequestId: "file-1", ItemCode: tobacco().Code,
		Applicant: &yizhanv1.Applicant{Name: "黄志明", IdNumber: applicantID, Phone: "13907710001"},
		Materials: []*yizhanv1.SubmittedMaterial{{Name: "申请表", Copies: 1}}}
	village := f.nodes["dongcun-1"].Office().Cases()
	held := village.Len()
	c := twice("file a case", func() (proto.Message, error) { return cases.FileCase(agent.ctx(), filing) }).(*yizhanv1.CaseResponse).GetCase()
	if c.GetQueryCode() == "" || village.Len() != held+1 {
		t.Errorf("a filing sent twice: query code %q, %d cases more", c.GetQueryCode(), village.Len()-held)
	}
	changed := proto.CloneOf(filing)
	changed.Applicant.Name = "黄志强"
	_, err = cases.FileCase(agent.ctx(), changed)
	conflict("file a case", err)

	waitFor(t, "the case at the county", func() bool { return received(county, c.GetNumber()) }, 20*time.Second)
	clerk := dial(t, county).login("clerk", password)
	countyCases := caseClient(t, clerk)
	events := len(county.Office().Cases().Events(c.GetNumber()))
	twice("accept", func() (proto.Message, error) {
		return countyCases.Accept(clerk.ctx(), &yizhanv1.CaseActionRequest{RequestId: "accept-1", Number: c.GetNumber()})
	})
	if got := len(county.Office().Cases().Events(c.GetNumber())) - events; got != 1 {
		t.Errorf("an acceptance sent twice appended %d events", got)
	}
	citizen := caseClient(t, dial(t, county))
	twice("complain", func() (proto.Message, error) {
		return citizen.Complain(dial(t, county).ctx(), &yizhanv1.CaseActionRequest{RequestId: "complain-1", Number: c.GetNumber(), QueryCode: c.GetQueryCode(), Reason: "太慢"})
	})
	if got, _ := county.Office().Cases().Case(c.GetNumber()); got.GetComplaints() != 1 {
		t.Errorf("a complaint sent twice counts %d complaints", got.GetComplaints())
	}

	// REST: the Idempotency-Key header.
	replayed := ""
	post := func(body string) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodPost, "http://"+county.HTTPAddr()+"/v1/departments", bytes.NewBufferString(body))
		req.Header.Set("Authorization", "Bearer "+admin.token)
		req.Header.Set("Idempotency-Key", "rest-dep-1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		replayed = resp.Header.Get("Grpc-Metadata-X-Yizhan-Replayed")
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	code1, first := post(`{"code":"jt","name":"县交通运输局"}`)
	code2, again := post(`{"code":"jt","name":"县交通运输局"}`)
	if replayed != "true" {
		t.Errorf("the REST retry does not say it was applied before (Grpc-Metadata-X-Yizhan-Replayed %q)", replayed)
	}
	if code1 != http.StatusOK || code2 != http.StatusOK || first["registry_index"] != again["registry_index"] {
		t.Errorf("REST with Idempotency-Key twice: %d %v, then %d %v", code1, first, code2, again)
	}
	if code, body := post(`{"code":"ga","name":"县公安局"}`); code != http.StatusConflict {
		t.Errorf("REST: another body under a used Idempotency-Key: %d %v, want 409", code, body)
	}
}

// retryable reports whether a write may be sent again as it is, with its
// request ID: the office had no leader, or lost it while the write was in
// flight (the outcome is unknown until the retry tells).
func retryable(err error) bool {
	switch status.Code(err) {
	case codes.Unavailable, codes.Unknown, codes.DeadlineExceeded:
		return true
	case codes.Aborted:
		return !strings.Contains(err.Error(), "request ID")
	}
	return false
}

// Registry writes sent to a township, forwarded up to the county, whose
// leader is stopped in the middle of them: the client retries each with
// its request ID until it has an answer, and each is applied exactly once.
func TestRegistryWritesForwardedAcrossALeaderChangeApplyOnce(t *testing.T) {
	f := newFed(t)
	f.startCounty(3)
	admin := dial(t, f.nodes["county-1"]).login("admin", password)
	f.startTree(admin)
	leader := f.countyLeader()
	c := dial(t, f.nodes["chengguan-1"])
	c.token = admin.token

	const writes = 150
	var wg sync.WaitGroup
	var next, done atomic.Int32
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > writes {
					return
				}
				code := fmt.Sprintf("w%04d", i)
				req := &yizhanv1.CreateDepartmentRequest{RequestId: "req-" + code, Department: &yizhanv1.Department{Code: code, Name: "部门 " + code}}
				for attempt := 0; ; attempt++ {
					_, err := c.reg.CreateDepartment(c.ctx(), req)
					if err == nil {
						break
					}
					if !retryable(err) || attempt > 300 {
						t.Errorf("write %s: %v", code, err)
						return
					}
					time.Sleep(50 * time.Millisecond)
				}
				done.Add(1)
			}
		}()
	}
	waitFor(t, "a third of the writes", func() bool { return done.Load() >= writes/3 }, 30*time.Second)
	f.stop(leader.Name())
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	newLeader := f.countyLeader()
	entries, _ := newLeader.Registry().ChangelogSince(0, 0)
	seen := map[string]int{}
	for _, e := range entries {
		if id := e.GetCommand().GetRequestId(); strings.HasPrefix(id, "req-w") {
			seen[id]++
		}
	}
	if len(seen) != writes {
		t.Errorf("%d of %d writes in the registry", len(seen), writes)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s applied %d times", id, n)
		}
	}
}

// Filings sent to a county follower, forwarded to the leader, which is
// stopped in the middle of them: retried with their request IDs, each is
// filed exactly once, and the retry answers with the first filing's
// number and query code.
func TestFilingsForwardedAcrossALeaderChangeApplyOnce(t *testing.T) {
	f := newCaseFed(t, 3)
	leader := f.countyLeader()
	var via *node.Node
	for _, name := range f.countyNames() {
		if n := f.nodes[name]; n != leader {
			via = n
			break
		}
	}
	clerk := dial(t, via).login("clerk", password)
	cases := caseClient(t, clerk)
	const filings = 90
	var wg sync.WaitGroup
	var next, done atomic.Int32
	var mu sync.Mutex
	numbers := map[string]string{} // request ID → number
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > filings {
					return
				}
				req := &yizhanv1.FileCaseRequest{RequestId: fmt.Sprintf("file-%03d", i), ItemCode: tobacco().Code,
					Applicant: &yizhanv1.Applicant{Name: fmt.Sprintf("申请人%d", i), IdNumber: applicantID, Phone: "13907710001"},
					Materials: []*yizhanv1.SubmittedMaterial{{Name: "申请表", Copies: 1}}}
				var resp *yizhanv1.CaseResponse
				for attempt := 0; ; attempt++ {
					var err error
					resp, err = cases.FileCase(clerk.ctx(), req)
					if err == nil {
						break
					}
					if !retryable(err) || attempt > 300 {
						t.Errorf("filing %d: %v", i, err)
						return
					}
					time.Sleep(50 * time.Millisecond)
				}
				mu.Lock()
				numbers[req.GetRequestId()] = resp.GetCase().GetNumber()
				mu.Unlock()
				done.Add(1)
			}
		}()
	}
	waitFor(t, "a third of the filings", func() bool { return done.Load() >= filings/3 }, 30*time.Second)
	f.stop(leader.Name())
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	newLeader := f.countyLeader()
	byName := map[string]int{}
	if err := newLeader.Office().Cases().Each(func(c *yizhanv1.Case) error {
		byName[c.GetApplicant().GetName()]++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= filings; i++ {
		if n := byName[fmt.Sprintf("申请人%d", i)]; n != 1 {
			t.Errorf("申请人%d filed %d times", i, n)
		}
	}
	// Asked again now, each answers its first number.
	for id, number := range numbers {
		resp, err := cases.FileCase(clerk.ctx(), &yizhanv1.FileCaseRequest{RequestId: id, ItemCode: tobacco().Code,
			Applicant: &yizhanv1.Applicant{Name: "申请人" + strings.TrimLeft(strings.TrimPrefix(id, "file-"), "0"), IdNumber: applicantID, Phone: "13907710001"},
			Materials: []*yizhanv1.SubmittedMaterial{{Name: "申请表", Copies: 1}}})
		if err != nil || resp.GetCase().GetNumber() != number {
			t.Errorf("%s asked again: %v %s, want %s", id, err, resp.GetCase().GetNumber(), number)
		}
	}
}
