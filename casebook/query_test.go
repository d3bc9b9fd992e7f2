package casebook

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/reason"
	"github.com/yizhan-gov/yizhan/supervision"
)

func numbersOf(cs []*yizhanv1.Case) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.GetNumber()
	}
	return out
}

// pages walks every page of a listing, page size n, and returns the
// numbers in order.
func pages(t *testing.T, n int, list func(size int, token string) ([]*yizhanv1.Case, string, error)) []string {
	t.Helper()
	var out []string
	token := ""
	for range 1000 {
		cs, next, err := list(n, token)
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) > n {
			t.Fatalf("a page of %d, asked for %d", len(cs), n)
		}
		out = append(out, numbersOf(cs)...)
		if next == "" {
			return out
		}
		token = next
	}
	t.Fatal("pages never end")
	return nil
}

// The queue is the open cases an office owns, the soonest due first, by
// state and department when asked, page by page without a case twice or
// missed; the overdue filter keeps the cases past their promised time.
func TestQueueOrderFiltersAndPages(t *testing.T) {
	reg := newRegistry(t)
	o := newOffice(t, county, reg)
	// Licences (10 working days promised) and certificates (3), filed a
	// day apart, some accepted, one refused (open until its notice is
	// delivered), one withdrawn (closed: out of the queue).
	var lic, svc []string
	for i := range 6 {
		lic = append(lic, o.file(licence, i, Request{}))
		svc = append(svc, o.file(service, 10+i, Request{}))
		o.now = o.now.Add(24 * time.Hour)
	}
	for _, n := range slices.Concat(lic[:3], svc[:3]) {
		o.act(n, casework.ActionAccept, nil)
	}
	o.act(lic[5], casework.ActionRefuse, &yizhanv1.CaseActionRequest{Reason: "不属于本机关职权", LegalBasis: "《行政许可法》第三十二条"})
	o.actAs(citizen, lic[4], casework.ActionWithdraw, &yizhanv1.CaseActionRequest{Reason: "不办了"})
	o.check()

	all, _, err := o.book.Queue(QueueQuery{Office: county, PageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 11 {
		t.Fatalf("queue of %d cases, want 11 (the withdrawn one is closed): %v", len(all), numbersOf(all))
	}
	// The order is the due time of the running clocks, then the rest.
	var last time.Time
	running := true
	for _, c := range all {
		d := casework.Clocks(c, o.book.Events(c.GetNumber()), reg, o.now)
		if !d.GetRunning() {
			running = false
			continue
		}
		if !running {
			t.Errorf("%s runs but sorts after a case whose clock does not run", c.GetNumber())
		}
		due := d.GetPromisedDue().AsTime()
		if due.Before(last) {
			t.Errorf("%s due %s sorts after one due %s", c.GetNumber(), due, last)
		}
		last = due
	}
	// Every page size walks the same queue.
	for _, size := range []int{1, 2, 5, 11, 50} {
		got := pages(t, size, func(n int, token string) ([]*yizhanv1.Case, string, error) {
			return o.book.Queue(QueueQuery{Office: county, PageSize: n, PageToken: token})
		})
		if strings.Join(got, ",") != strings.Join(numbersOf(all), ",") {
			t.Errorf("pages of %d: %v, want %v", size, got, numbersOf(all))
		}
	}
	// By state and department.
	accepted, _, _ := o.book.Queue(QueueQuery{Office: county, State: yizhanv1.CaseState_CASE_STATE_ACCEPTED, Department: "mz"})
	if strings.Join(numbersOf(accepted), ",") != strings.Join(svc[:3], ",") {
		t.Errorf("accepted at 民政局: %v, want %v", numbersOf(accepted), svc[:3])
	}
	// By state alone, by department alone: the queue by due time,
	// filtered as it is walked, in pages.
	acceptedAll := pages(t, 2, func(n int, token string) ([]*yizhanv1.Case, string, error) {
		return o.book.Queue(QueueQuery{Office: county, State: yizhanv1.CaseState_CASE_STATE_ACCEPTED, PageSize: n, PageToken: token})
	})
	if len(acceptedAll) != 6 {
		t.Errorf("accepted: %v, want 6", acceptedAll)
	}
	ycOnly := pages(t, 2, func(n int, token string) ([]*yizhanv1.Case, string, error) {
		return o.book.Queue(QueueQuery{Office: county, Department: "yc", PageSize: n, PageToken: token})
	})
	if len(ycOnly) != 5 {
		t.Errorf("烟草专卖局's queue: %v, want the 5 open licences", ycOnly)
	}
	byItem, _, _ := o.book.Queue(QueueQuery{Office: county, ItemCode: licence})
	if len(byItem) != 5 {
		t.Errorf("licence cases in the queue: %v, want 5", numbersOf(byItem))
	}
	// Overdue: 3 working days promised for the certificates accepted on
	// the first days; three weeks on, they are late, the licences not.
	late, _, _ := o.book.Queue(QueueQuery{Office: county, OverdueAt: t0.Add(10 * 24 * time.Hour)})
	if strings.Join(numbersOf(late), ",") != strings.Join(svc[:3], ",") {
		t.Errorf("overdue: %v, want %v", numbersOf(late), svc[:3])
	}
	// Another office's queue is not this one's.
	if other, _, _ := o.book.Queue(QueueQuery{Office: township}); len(other) != 0 {
		t.Errorf("the township's queue at the county: %v", numbersOf(other))
	}
	if _, _, err := o.book.Queue(QueueQuery{Office: county, PageToken: "not a token"}); !errors.Is(err, ErrBadPageToken) {
		t.Errorf("a made-up page token: %v", err)
	}
	// A token names its listing and a case: nine zero bytes are neither,
	// and the queue's is no position in the history, nor its in the queue.
	_, queueToken, err := o.book.Queue(QueueQuery{Office: county, PageSize: 1})
	if err != nil || queueToken == "" {
		t.Fatalf("a page of one: %q, %v", queueToken, err)
	}
	_, historyToken, err := o.book.List(ListQuery{Office: county, PageSize: 1})
	if err != nil || historyToken == "" {
		t.Fatalf("a page of one of the history: %q, %v", historyToken, err)
	}
	for what, bad := range map[string]func() error{
		"nine zero bytes": func() error {
			_, _, err := o.book.Queue(QueueQuery{Office: county, PageToken: "AAAAAAAAAAAA"})
			return err
		},
		"the queue's in the history": func() error {
			_, _, err := o.book.List(ListQuery{Office: county, PageToken: queueToken})
			return err
		},
		"the history's in the queue": func() error {
			_, _, err := o.book.Queue(QueueQuery{Office: county, PageToken: historyToken})
			return err
		},
	} {
		if err := bad(); !errors.Is(err, ErrBadPageToken) {
			t.Errorf("%s: %v", what, err)
		}
	}
}

// History lists every case an office holds, newest first, within dates.
func TestListByFilingDate(t *testing.T) {
	reg := newRegistry(t)
	o := newOffice(t, county, reg)
	var filed []string
	for i := range 10 {
		filed = append(filed, o.file(licence, i, Request{}))
		o.now = o.now.Add(24 * time.Hour)
	}
	o.act(filed[2], casework.ActionRefuse, &yizhanv1.CaseActionRequest{Reason: "不属于本机关职权", LegalBasis: "《行政许可法》第三十二条"})
	newest := func(ns []string) string {
		out := make([]string, len(ns))
		for i, n := range ns {
			out[len(ns)-1-i] = n
		}
		return strings.Join(out, ",")
	}
	got := pages(t, 3, func(n int, token string) ([]*yizhanv1.Case, string, error) {
		return o.book.List(ListQuery{Office: county, PageSize: n, PageToken: token})
	})
	if strings.Join(got, ",") != newest(filed) {
		t.Errorf("history: %v, want %v", got, newest(filed))
	}
	// Days 3 to 6 (from inclusive, to exclusive).
	from, to := t0.Add(3*24*time.Hour).Add(-time.Hour), t0.Add(6*24*time.Hour).Add(-time.Hour)
	got = pages(t, 2, func(n int, token string) ([]*yizhanv1.Case, string, error) {
		return o.book.List(ListQuery{Office: county, FiledFrom: from, FiledTo: to, PageSize: n, PageToken: token})
	})
	if strings.Join(got, ",") != newest(filed[3:6]) {
		t.Errorf("filed in days 3–5: %v, want %v", got, newest(filed[3:6]))
	}
	refused, _, _ := o.book.List(ListQuery{Office: county, State: yizhanv1.CaseState_CASE_STATE_REFUSED})
	if strings.Join(numbersOf(refused), ",") != filed[2] {
		t.Errorf("refused: %v, want %s", numbersOf(refused), filed[2])
	}
}

// Staff find a citizen's cases by ID number, phone or name; the index
// holds the ID number and phone as keyed hashes, never in clear.
func TestByApplicantFindsWithoutHoldingIDsInClear(t *testing.T) {
	reg := newRegistry(t)
	o := newOffice(t, county, reg)
	var mine []string
	for i := range 12 {
		n := i % 3 // applicants 0, 1, 2
		number := o.file(licence, n, Request{})
		if n == 1 {
			mine = append(mine, number)
		}
	}
	want := make([]string, len(mine))
	for i, n := range mine {
		want[len(mine)-1-i] = n
	}
	for what, q := range map[string]ApplicantQuery{
		"ID number":           {IDNumber: idNumber(1)},
		"ID number, x":        {IDNumber: strings.ToLower(idNumber(1))},
		"phone":               {Phone: "13907700001"},
		"name":                {Name: "申请人1"},
		"name and ID":         {Name: "申请人1", IDNumber: idNumber(1)},
		"at the county":       {IDNumber: idNumber(1), Office: county},
		"name, small pages":   {Name: "申请人1", PageSize: 1},
		"phone, pages of two": {Phone: "13907700001", PageSize: 2},
		"credit code":         {CreditCode: orgCreditCode},
		"name and credit":     {Name: "申请人1", CreditCode: orgCreditCode},
	} {
		size := q.PageSize
		if size == 0 {
			size = 100
		}
		got := pages(t, size, func(n int, token string) ([]*yizhanv1.Case, string, error) {
			q := q
			q.PageSize, q.PageToken = n, token
			return o.book.ByApplicant(q, reg)
		})
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("by %s: %v, want %v", what, got, want)
		}
	}
	if got, _, _ := o.book.ByApplicant(ApplicantQuery{Name: "申请人1", IDNumber: idNumber(2)}, reg); len(got) != 0 {
		t.Errorf("a name with another's ID number found %v", numbersOf(got))
	}
	if got, _, _ := o.book.ByApplicant(ApplicantQuery{IDNumber: idNumber(1), Office: township}, reg); len(got) != 0 {
		t.Errorf("at an office that never held them: %v", numbersOf(got))
	}
	// Nothing of the index names the ID number or the phone.
	err := o.book.db.View(func(txn *badger.Txn) error {
		return eachKey(txn, []byte(pApplicant), func(k, v []byte) error {
			for i := range 3 {
				for _, secret := range []string{idNumber(i), idNumber(i)[6:14], "13907700001"} {
					if bytes.Contains(k, []byte(secret)) || bytes.Contains(v, []byte(secret)) {
						t.Errorf("applicant index key %q holds %s in clear", k, secret)
					}
				}
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// The counters are kept as the cases move, per day, month and year, and
// agree with a recount (Check).
func TestStatsCountAtApplyTime(t *testing.T) {
	reg := newRegistry(t)
	o := newOffice(t, county, reg)
	var ns []string
	for i := range 6 {
		ns = append(ns, o.file(licence, i, Request{}))
	}
	// Two withdrawn: one at the citizen's written request; one closed by
	// staff when its correction notice's wait was over (逾期未补正).
	o.act(ns[4], casework.ActionWithdraw, &yizhanv1.CaseActionRequest{Reason: "申请人书面申请撤回",
		Materials: []*yizhanv1.SubmittedMaterial{{Name: casework.WithdrawalRequest, Copies: 1}}})
	o.act(ns[5], casework.ActionRequestCorrection, &yizhanv1.CaseActionRequest{Reason: "申请表未签字", MissingMaterials: []string{"申请表"}})
	for _, n := range ns[:3] {
		o.act(n, casework.ActionAccept, nil)
		o.act(n, casework.ActionReview, &yizhanv1.CaseActionRequest{Agrees: true, Reason: "同意"})
	}
	o.act(ns[3], casework.ActionRefuse, &yizhanv1.CaseActionRequest{Reason: "不属于本机关职权", LegalBasis: "《行政许可法》第三十二条"})
	o.act(ns[0], casework.ActionDecide, &yizhanv1.CaseActionRequest{Approved: true, Reason: "符合条件"})
	o.act(ns[1], casework.ActionDecide, &yizhanv1.CaseActionRequest{Approved: false, Reason: "不符合布局要求", LegalBasis: "《烟草专卖法实施条例》第十条"})
	// The third is decided three weeks on: past its 10 promised days.
	o.now = o.now.Add(21 * 24 * time.Hour)
	o.act(ns[2], casework.ActionDecide, &yizhanv1.CaseActionRequest{Approved: true, Reason: "符合条件"})
	// Seven weeks on, the correction notice's 30 days are over.
	o.now = o.now.Add(28 * 24 * time.Hour)
	o.act(ns[5], casework.ActionWithdraw, &yizhanv1.CaseActionRequest{Reason: "逾期未补正，视为撤回申请"})
	o.check()

	get := func(period, outcome string) uint64 {
		t.Helper()
		st, err := o.book.Stats(StatsQuery{Period: period, Office: county, ItemCode: licence, Department: "yc", Outcome: outcome})
		if err != nil {
			t.Fatal(err)
		}
		var sum uint64
		for _, s := range st {
			sum += s.Value
		}
		return sum
	}
	year := PeriodOf(Year, t0)
	for outcome, want := range map[string]uint64{
		supervision.Withdrawn: 2, supervision.WithdrawnCorrectionLapsed: 1,
		supervision.Received: 6, supervision.Accepted: 3, supervision.Refused: 1, supervision.Decided: 3, supervision.Approved: 2, supervision.Denied: 1,
		supervision.DecidedInTime: 2, supervision.DecidedOverdue: 1, supervision.StatutoryDays: 60, supervision.PromisedDays: 30,
	} {
		if got := get(year, outcome); got != want {
			t.Errorf("%s in %s: %d, want %d", outcome, year, got, want)
		}
	}
	if got := get(PeriodOf(Day, t0), supervision.Received); got != 6 {
		t.Errorf("received on the first day: %d, want 6", got)
	}
	if got := get(PeriodOf(Day, t0), supervision.Decided); got != 2 {
		t.Errorf("decided on the first day: %d, want 2", got)
	}
	if used := get(year, supervision.WorkingDaysUsed); used < 15 {
		t.Errorf("working days used: %d, want at least the 15 of the late case", used)
	}
	if got, _ := o.book.Stats(StatsQuery{Period: year, Office: township}); len(got) != 0 {
		t.Errorf("the township's counters at the county: %v", got)
	}
}

// A book streamed to another node and restored there is the same book,
// byte for byte, and its indexes check; a stream cut short or altered is
// refused and leaves the book empty.
func TestStreamRestoresTheSameBook(t *testing.T) {
	reg := newRegistry(t)
	o := newOffice(t, county, reg)
	for i := range 50 {
		n := o.file(licence, i, Request{ID: "r" + idNumber(i), Hash: []byte{1}})
		if i%2 == 0 {
			o.act(n, casework.ActionAccept, nil)
		}
	}
	var stream bytes.Buffer
	applied, err := o.book.Stream(&stream)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := digestOf(t, o.book)

	other := newOffice(t, county, reg)
	other.file(service, 1, Request{}) // whatever it held before goes
	if err := other.book.Restore(bytes.NewReader(stream.Bytes())); err != nil {
		t.Fatal(err)
	}
	got, at := digestOf(t, other.book)
	if !bytes.Equal(got, want) || at != applied || other.book.Applied() != applied {
		t.Errorf("restored book: digest equal %v, at %d; want at %d", bytes.Equal(got, want), at, applied)
	}
	if other.book.Len() != 50 {
		t.Errorf("restored book holds %d cases, want 50", other.book.Len())
	}
	if _, _, ok, _ := other.book.Answered(Request{ID: "r" + idNumber(3), Hash: []byte{1}}); !ok {
		t.Error("the restored book forgot a request ID")
	}
	other.mem = o.mem
	other.sameAsMemory()

	for what, broken := range map[string][]byte{
		"cut short": stream.Bytes()[:stream.Len()/2],
		"altered":   func() []byte { b := bytes.Clone(stream.Bytes()); b[len(b)/2] ^= 1; return b }(),
		"empty":     nil,
	} {
		third := newOffice(t, county, reg)
		third.file(service, 1, Request{})
		if err := third.book.Restore(bytes.NewReader(broken)); err == nil {
			t.Errorf("a stream %s was restored", what)
		}
		if third.book.Len() != 0 || third.book.Applied() != 0 {
			t.Errorf("after a stream %s: %d cases at %d; want an empty book", what, third.book.Len(), third.book.Applied())
		}
	}
}

// A book kept in memory by the previous release, from its snapshot, is
// imported whole: the same cases, outbox and answers, indexes built.
func TestImportLegacySnapshot(t *testing.T) {
	reg := newRegistry(t)
	c, tw, v := newOffice(t, county, reg), newOffice(t, township, reg), newOffice(t, village, reg)
	offices := map[string]*office{county: c, township: tw, village: v}
	for i := range 5 {
		v.fileAs(villageAgent, service, i, Request{})
	}
	settle(t, offices)
	v.fileAs(villageAgent, service, 9, Request{})
	v.auto() // one message left in the outbox
	c.file(licence, 1, Request{})

	for _, o := range offices {
		imported := newOffice(t, o.code, reg)
		if err := imported.book.ImportLegacy(o.mem.Snapshot(), nil, o.index, reg); err != nil {
			t.Fatalf("%s: %v", o.code, err)
		}
		if imported.book.Applied() != o.index {
			t.Errorf("%s: imported at %d, want %d", o.code, imported.book.Applied(), o.index)
		}
		imported.mem = o.mem
		imported.sameAsMemory()
		if err := imported.book.ImportLegacy(o.mem.Snapshot(), nil, o.index, reg); err == nil {
			t.Errorf("%s: imported twice", o.code)
		}
	}
	if v.book.OutboxLen() != 1 {
		t.Errorf("the village's outbox: %d, want 1", v.book.OutboxLen())
	}
}

// A legacy snapshot's import whose reads the database fails (here: the
// database closed under it) answers an error, as before reads of the
// apply stopped the node: raft's restore reports it; no Go panic.
func TestImportLegacySnapshotWhoseReadFailsIsAnError(t *testing.T) {
	reg := newRegistry(t)
	c := newOffice(t, county, reg)
	c.file(licence, 1, Request{})
	db := openDB(t, t.TempDir())
	imported := newOffice(t, county, reg)
	imported.book = openBook(t, db, county)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	err := imported.book.ImportLegacy(c.mem.Snapshot(), nil, c.index, reg)
	var d *DiskError
	if !errors.As(err, &d) || !d.Read {
		t.Errorf("an import whose reads fail: %v; want the failed read's *DiskError", err)
	}
}

// Cases filed before the county made its query-code key were indexed
// under plain hashes: they are still found, and Check accepts them.
func TestApplicantFoundAcrossTheHashKeyArriving(t *testing.T) {
	o := newOffice(t, county, newRegistryKeyed(t, false))
	first := o.file(licence, 1, Request{})
	o.reg = newRegistry(t) // the same registry, and then the key
	second := o.file(licence, 1, Request{})
	o.act(first, casework.ActionAccept, nil)
	o.check()
	got, _, err := o.book.ByApplicant(ApplicantQuery{IDNumber: idNumber(1)}, o.reg)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(numbersOf(got), ",") != second+","+first {
		t.Errorf("by ID number: %v, want %s and %s", numbersOf(got), second, first)
	}
}

// A citizen's cases come newest filing first whichever office filed
// them (case numbers begin with the office's code: their order is not
// the filing order).
func TestApplicantCasesNewestFirstAcrossOffices(t *testing.T) {
	reg := newRegistry(t)
	c, tw, v := newOffice(t, county, reg), newOffice(t, township, reg), newOffice(t, village, reg)
	offices := map[string]*office{county: c, township: tw, village: v}
	var want []string
	for i := range 4 {
		at := t0.Add(time.Duration(i) * time.Hour)
		var n string
		if i%2 == 0 {
			v.now = at
			n = v.fileAs(villageAgent, service, 7, Request{})
		} else {
			c.now = at
			n = c.file(service, 7, Request{})
		}
		want = append([]string{n}, want...)
	}
	settle(t, offices)
	got := pages(t, 1, func(n int, token string) ([]*yizhanv1.Case, string, error) {
		return c.book.ByApplicant(ApplicantQuery{IDNumber: idNumber(7), PageSize: n, PageToken: token}, reg)
	})
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("the citizen's cases at the county: %v, want newest filing first %v", got, want)
	}
	if _, _, err := c.book.ByApplicant(ApplicantQuery{IDNumber: idNumber(7), PageToken: "x"}, reg); !errors.Is(err, ErrBadPageToken) {
		t.Errorf("a made-up page token: %v", err)
	}
}

// A common name's cases (some thousands at a county) are paged newest
// filing first, whatever the filters, without a case twice or missed;
// a page reads the days it needs (BenchmarkApplicantByCommonName). A
// case whose number names another day than its filing's keeps its
// place by its number's day.
func TestApplicantPagesOfACommonName(t *testing.T) {
	reg := newRegistry(t)
	o := newOffice(t, county, reg)
	o.step = 5 * time.Hour
	type filed struct {
		number, day string
		accepted    bool
	}
	var all []filed // oldest first
	for i := range 40 {
		if i == 17 {
			o.numberAt = o.now.Add(-24 * time.Hour)
		}
		n := o.file(licence, 7, Request{})
		o.numberAt = time.Time{}
		_, day, _, _ := casework.ParseCaseNumber(n)
		if c, _, _ := o.book.CaseAndEvents(n); i == 17 && c.GetFiledAt().AsTime().In(t0.Location()).Format("20060102") == day {
			t.Fatalf("%s is numbered on its filing's day", n)
		}
		all = append(all, filed{n, day, i%3 == 0})
		if i%3 == 0 {
			o.act(n, casework.ActionAccept, nil)
		}
		o.file(licence, 100+i, Request{})
	}
	// Newest first: by the number's day, then by the filing.
	slices.Reverse(all)
	slices.SortStableFunc(all, func(x, y filed) int { return strings.Compare(y.day, x.day) })
	var mine, accepted []string
	for _, f := range all {
		mine = append(mine, f.number)
		if f.accepted {
			accepted = append(accepted, f.number)
		}
	}
	for _, size := range []int{1, 2, 3, 7, 40, 100} {
		got := pages(t, size, func(n int, token string) ([]*yizhanv1.Case, string, error) {
			return o.book.ByApplicant(ApplicantQuery{Name: "申请人7", PageSize: n, PageToken: token}, reg)
		})
		if strings.Join(got, ",") != strings.Join(mine, ",") {
			t.Errorf("pages of %d: %v, want %v", size, got, mine)
		}
		got = pages(t, size, func(n int, token string) ([]*yizhanv1.Case, string, error) {
			return o.book.ByApplicant(ApplicantQuery{Name: "申请人7", State: yizhanv1.CaseState_CASE_STATE_ACCEPTED,
				Office: county, PageSize: n, PageToken: token}, reg)
		})
		if strings.Join(got, ",") != strings.Join(accepted, ",") {
			t.Errorf("accepted, pages of %d: %v, want %v", size, got, accepted)
		}
	}
	if got, _, err := o.book.ByApplicant(ApplicantQuery{Name: "申请人7", Office: township}, reg); err != nil || len(got) != 0 {
		t.Errorf("at an office that never held them: %v %v", numbersOf(got), err)
	}
	// Filed in a range of times: from the filing of the 10th newest to
	// that of the 3rd newest (not included), whatever their numbers' days.
	filedAt := func(n string) time.Time {
		c, _, _ := o.book.CaseAndEvents(n)
		return c.GetFiledAt().AsTime()
	}
	from, to := filedAt(mine[9]), filedAt(mine[2])
	var within []string
	for _, n := range mine {
		if at := filedAt(n); !at.Before(from) && at.Before(to) {
			within = append(within, n)
		}
	}
	if len(within) < 5 {
		t.Fatalf("%d cases in the range: the test means more", len(within))
	}
	for _, size := range []int{1, 3, 100} {
		got := pages(t, size, func(n int, token string) ([]*yizhanv1.Case, string, error) {
			return o.book.ByApplicant(ApplicantQuery{Name: "申请人7", FiledFrom: from, FiledTo: to, PageSize: n, PageToken: token}, reg)
		})
		if strings.Join(got, ",") != strings.Join(within, ",") {
			t.Errorf("filed from %s to %s, pages of %d: %v, want %v", from, to, size, got, within)
		}
	}
}

// A case suspended past its time limit is late like any other: the
// queue's overdue filter lists it and the sweep cards it, exactly when
// casework.Clocks says it is overdue — a procedure that counts inside the
// limit at the due time, one that does not once it has run its own limit,
// one begun after the due time at once; one without a limit (专家评审)
// holds the clock. And a book of the release before, whose suspended
// cases sorted after every due case, ranks them again at its upgrade.
func TestSuspendedCasesFallOverdueInTheQueueAndTheSweep(t *testing.T) {
	reg := newRegistry(t)
	o := newOffice(t, county, reg)
	suspend := func(n, procedure string) {
		t.Helper()
		o.act(n, casework.ActionSuspend, &yizhanv1.CaseActionRequest{SpecialProcedure: procedure, Reason: "依法需要"})
	}
	var survey, hearing, experts, running, late string
	for i, n := range []*string{&survey, &hearing, &experts, &running, &late} {
		*n = o.file(licence, i, Request{})
		o.act(*n, casework.ActionAccept, nil)
	}
	suspend(survey, "现场勘查")  // 5 working days, not counted
	suspend(hearing, "听证")   // counted inside the 10 days
	suspend(experts, "专家评审") // not counted, no limit of its own
	start := o.now
	o.now = reg.AddWorkingDays(start, 12).Add(-12 * time.Hour) // two days past the promise
	suspend(late, "现场勘查")
	o.check()

	// Day by day, the overdue filter and the sweep agree with Clocks.
	want := func(at time.Time) []string {
		var out []string
		for _, n := range []string{survey, hearing, experts, running, late} {
			c, events, _ := o.book.CaseAndEvents(n)
			if casework.Clocks(c, events, reg, at).GetOverdue() {
				out = append(out, n)
			}
		}
		slices.Sort(out)
		return out
	}
	seen, seenOver := map[string]bool{}, map[string]bool{}
	all := []string{survey, hearing, experts, running, late}
	for day := 1; day <= 30; day++ {
		at := start.AddDate(0, 0, day).Add(3 * time.Hour) // noon
		if at.Before(o.now) {
			continue // before the last suspension: the book was not there yet
		}
		late, _, err := o.book.Queue(QueueQuery{Office: county, OverdueAt: at, Registry: reg, PageSize: 50})
		if err != nil {
			t.Fatal(err)
		}
		got := numbersOf(late)
		slices.Sort(got)
		w := want(at)
		if !slices.Equal(got, w) {
			t.Errorf("%s: overdue %v, Clocks says %v", at.Format(time.DateOnly), got, w)
		}
		checks, err := o.book.CardsDue(at, reg, supervision.Policy{}, MaxCardChecks)
		if err != nil {
			t.Fatal(err)
		}
		var red []string
		for _, c := range checks {
			if c.GetRule() == yizhanv1.CardRule_CARD_RULE_OVERDUE {
				red = append(red, c.GetCaseNumber())
			}
		}
		slices.Sort(red)
		if !slices.Equal(red, w) {
			t.Errorf("%s: the sweep would card %v overdue, Clocks says %v", at.Format(time.DateOnly), red, w)
		}
		// And those left suspended past their procedure's own limit.
		var over, wantOver []string
		for _, c := range checks {
			if c.GetRule() == yizhanv1.CardRule_CARD_RULE_SUSPENSION_OVER_LIMIT {
				over = append(over, c.GetCaseNumber())
			}
		}
		for _, n := range all {
			c, events, _ := o.book.CaseAndEvents(n)
			if casework.Clocks(c, events, reg, at).GetSuspensionOverLimit() {
				wantOver = append(wantOver, n)
				seenOver[n] = true
			}
		}
		slices.Sort(over)
		slices.Sort(wantOver)
		if !slices.Equal(over, wantOver) {
			t.Errorf("%s: the sweep would card %v suspended past the limit, Clocks says %v", at.Format(time.DateOnly), over, wantOver)
		}
		for _, n := range w {
			seen[n] = true
		}
	}
	for n, what := range map[string]string{survey: "the survey past its 5 days", hearing: "the counted hearing",
		running: "the running case", late: "the case suspended after its due time"} {
		if !seen[n] {
			t.Errorf("%s (%s) was never overdue", what, n)
		}
	}
	if seen[experts] {
		t.Errorf("the expert review without a limit of its own (%s) was overdue within 30 days", experts)
	}
	for n, what := range map[string]string{survey: "the 5-day survey", hearing: "the 10-day hearing", late: "the late 5-day survey"} {
		if !seenOver[n] {
			t.Errorf("%s (%s) was never past its procedure's limit", what, n)
		}
	}
	if seenOver[experts] || seenOver[running] {
		t.Error("a case with no procedure's limit was past one")
	}

	// The release before ranked the suspended cases after every due
	// case: put hearing's key back there, as it left it, and upgrade.
	var old []byte
	if err := o.book.db.View(func(txn *badger.Txn) error {
		old = getRaw(txn, key(pQueueKey, hearing))
		return nil
	}); err != nil || old == nil {
		t.Fatalf("no queue key for %s: %v", hearing, err)
	}
	c, _ := o.book.Case(hearing)
	behind := slices.Clone(old[:len(old)-8-len(hearing)])
	behind = append(append(behind, be64(notRunning+uint64(c.GetFiledAt().AsTime().Unix()))...), hearing...)
	wb := o.book.db.NewWriteBatch()
	if err := requeueIn(wb, []byte(hearing), old, behind); err != nil {
		t.Fatal(err)
	}
	if err := wb.Set(keyStatsFormat, be64(5)); err != nil {
		t.Fatal(err)
	}
	if err := wb.Flush(); err != nil {
		t.Fatal(err)
	}
	at := reg.AddWorkingDays(start, 11)
	if l, _, _ := o.book.Queue(QueueQuery{Office: county, OverdueAt: at, Registry: reg}); slices.Contains(numbersOf(l), hearing) {
		t.Fatal("the test did not put the key back as the release before had it")
	}
	b, err := Open(o.book.db, county)
	if err != nil {
		t.Fatal(err)
	}
	if !b.statsStale.Load() {
		t.Fatal("a book of format 5 is not upgraded")
	}
	o.book = b
	o.index++
	b.Apply([]Entry{{Index: o.index, At: o.now.UnixNano(), Cmd: &peerv1.CaseCommand{Op: &peerv1.CaseCommand_Ack{Ack: &peerv1.AckOutbox{}}}}}, o.index, reg)
	if l, _, _ := b.Queue(QueueQuery{Office: county, OverdueAt: at, Registry: reg}); !slices.Contains(numbersOf(l), hearing) {
		t.Errorf("after the upgrade the counted hearing is not overdue on %s: %v", at.Format(time.DateOnly), numbersOf(l))
	}
	if problems, err := b.Check(context.Background(), reg); err != nil || len(problems) > 0 {
		t.Errorf("check after the upgrade: %v %v", problems, err)
	}
}

// While a stream is being restored the book holds part of one: its
// generation is odd, its statistics and Check refuse to answer
// (ErrReplacing), and once it is whole the generation has moved on, so a
// reader that began before can tell.
func TestGenerationWhileRestoring(t *testing.T) {
	reg := newRegistry(t)
	o := newOffice(t, county, reg)
	for i := range 400 {
		o.file(licence, i, Request{})
	}
	var stream bytes.Buffer
	if _, err := o.book.Stream(&stream); err != nil {
		t.Fatal(err)
	}
	b := o.book
	before := b.Generation()
	if before%2 != 0 {
		t.Fatalf("generation %d before any restore", before)
	}
	pr, pw := io.Pipe()
	restored := make(chan error, 1)
	go func() { restored <- b.Restore(pr) }()
	// The pipe's write returns once the restore has read it: part-way.
	if _, err := pw.Write(stream.Bytes()[:stream.Len()/2]); err != nil {
		t.Fatal(err)
	}
	if g := b.Generation(); g%2 != 1 {
		t.Errorf("generation %d part-way through a restore", g)
	}
	q := RangeQuery{From: o.now.AddDate(0, 0, -30), To: o.now, Office: county, Subtree: true}
	if _, err := b.SumStats(q, func(Stat) string { return "*" }); !errors.Is(err, ErrReplacing) || reason.ReasonOf(err) != reason.BookRestoring {
		t.Errorf("statistics part-way through a restore: %v", err)
	}
	if _, err := b.Check(t.Context(), reg); !errors.Is(err, ErrReplacing) {
		t.Errorf("check part-way through a restore: %v", err)
	}
	if _, err := pw.Write(stream.Bytes()[stream.Len()/2:]); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	if err := <-restored; err != nil {
		t.Fatal(err)
	}
	if g := b.Generation(); g != before+2 {
		t.Errorf("generation %d after a restore, %d before", g, before)
	}
	if got, err := b.SumStats(q, func(Stat) string { return "*" }); err != nil || got["*"][supervision.Received] != 400 {
		t.Errorf("statistics after the restore: %v %v", got, err)
	}
	if problems, err := b.Check(t.Context(), reg); err != nil || len(problems) > 0 {
		t.Errorf("check after the restore: %q %v", problems, err)
	}
}
