package node_test

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// catchUpCases is how many cases TestFollowerFarBehindCatchesUpByBookSnapshot
// files while the follower is stopped: YIZHAN_CATCHUP_CASES (make test
// sets 100,000), else a number that keeps go test ./... quick.
func catchUpCases(t *testing.T) int {
	if v := os.Getenv("YIZHAN_CATCHUP_CASES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("YIZHAN_CATCHUP_CASES=%q: a positive number", v)
		}
		return n
	}
	return 3000
}

// A county follower stopped while its office files many cases (the log
// compacted far past it) catches up by a raft snapshot that streams the
// case book: it ends with the leader's book, byte for byte (the digests
// agree), its indexes checked.
func TestFollowerFarBehindCatchesUpByBookSnapshot(t *testing.T) {
	if testing.Short() {
		t.Skip("files thousands of cases")
	}
	n := catchUpCases(t)
	f := newFed(t)
	f.startCounty(3)
	leader := f.countyLeader()
	admin := dial(t, leader).login("admin", password)
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(admin.reg.CreateDepartment(admin.ctx(), &yizhanv1.CreateDepartmentRequest{Department: &yizhanv1.Department{Code: "yc", Name: "县烟草专卖局"}}))
	must(admin.reg.CreateItem(admin.ctx(), &yizhanv1.CreateItemRequest{Item: tobacco()}))
	must(admin.reg.CreateGrant(admin.ctx(), &yizhanv1.CreateGrantRequest{Grant: &yizhanv1.Grant{ItemCode: tobacco().Code, OfficeCode: county, Rights: allRights}}))
	must(admin.reg.CreateStaff(admin.ctx(), &yizhanv1.CreateStaffRequest{Staff: &yizhanv1.StaffMember{
		Username: "clerk", Name: "陈静", OfficeCode: county, DepartmentCode: "yc", Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_CLERK},
	}, Password: password}))

	var behind string
	for _, name := range f.countyNames() {
		if f.nodes[name] != leader {
			behind = name
			break
		}
	}
	f.stop(behind)

	clerk := dial(t, leader).login("clerk", password)
	cases := caseClient(t, clerk)
	start := time.Now()
	var next, retries atomic.Int64
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= int64(n); i = next.Add(1) {
				// With two nodes of three, a stall of one (a slow fsync,
				// the machine busy) can cost the leader its lease: a
				// client sends the write again with its request ID, as
				// the error says, and it is applied once.
				for deadline := time.Now().Add(time.Minute); ; {
					_, err := cases.FileCase(clerk.ctx(), &yizhanv1.FileCaseRequest{
						ItemCode:  tobacco().Code,
						Applicant: &yizhanv1.Applicant{Name: fmt.Sprintf("申请人%d", i), IdNumber: applicantID, Phone: "13907710001"},
						Materials: []*yizhanv1.SubmittedMaterial{{Name: "申请表", Copies: 1}},
						RequestId: fmt.Sprintf("catch-up-%d", i),
					})
					if err == nil {
						break
					}
					if !retryable(err) || time.Now().After(deadline) {
						t.Errorf("file case %d: %v", i, err)
						return
					}
					retries.Add(1)
					time.Sleep(50 * time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("filed %d cases in %s (%d writes sent again)", n, time.Since(start).Round(time.Millisecond), retries.Load())
	// The leader's snapshot takes the book; its log is cut to the
	// trailing entries, far past the stopped follower. (The leader may
	// have changed while the cases were filed.)
	leader = f.countyLeader()
	if err := leader.Office().Group().Snapshot(); err != nil {
		t.Fatal(err)
	}

	start = time.Now()
	follower := f.restart(behind)
	target := leader.Office().Group().AppliedIndex()
	waitFor(t, behind+" to catch up", func() bool { return follower.Office().Group().AppliedIndex() >= target }, 5*time.Minute)
	t.Logf("%s caught up with %d cases in %s", behind, n, time.Since(start).Round(time.Millisecond))
	if got := follower.Office().Group().Stats()["last_snapshot_index"]; got == "0" || got == "" {
		t.Errorf("%s caught up without a snapshot (last_snapshot_index %q)", behind, got)
	}

	// Background writes (the queue sweep, recovery) may land between the
	// two digests; compare them once both books stand at the same index.
	var want, got []byte
	var at, gotAt uint64
	waitFor(t, behind+"'s book at the leader's index", func() bool {
		var err error
		if want, at, err = leader.Office().Cases().Digest(); err != nil {
			t.Fatal(err)
		}
		if got, gotAt, err = follower.Office().Cases().Digest(); err != nil {
			t.Fatal(err)
		}
		return gotAt == at
	}, time.Minute)
	if !bytes.Equal(got, want) {
		t.Errorf("%s's book at index %d differs from the leader's at %d", behind, gotAt, at)
	}
	if l := follower.Office().Cases().Len(); l != n {
		t.Errorf("%s holds %d cases, want %d", behind, l, n)
	}
}
