package raftgroup

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casebook"
	"github.com/yizhan-gov/yizhan/federation/badgerstore"
	"github.com/yizhan-gov/yizhan/registry"
)

// newTestFSM is a state machine of office over an empty registry and a
// case book in a badger of its own.
func newTestFSM(t *testing.T, office string) *FSM {
	t.Helper()
	db, err := badgerstore.OpenDB(t.TempDir(), badgerstore.DBOptions{Small: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	book, err := casebook.Open(db, office)
	if err != nil {
		t.Fatal(err)
	}
	return NewFSM(registry.New(registry.Options{}), book)
}

func marshalCommand(t *testing.T, cmd *peerv1.Command) []byte {
	t.Helper()
	data, err := proto.Marshal(cmd)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// The registry feed waits on registry changes and the case loop on case
// commands: each wakes for its own, not for the other's.
func TestFSMWakesRegistryAndCaseWaitersApart(t *testing.T) {
	const county = "450122000000"
	f := newTestFSM(t, county)
	apply := func(index uint64, cmd *peerv1.Command) {
		t.Helper()
		f.Apply(&raft.Log{Index: index, Data: marshalCommand(t, cmd)})
	}
	closed := func(c <-chan struct{}) bool {
		select {
		case <-c:
			return true
		default:
			return false
		}
	}

	reg, cases := f.RegistryChanged(), f.CasesChanged()
	apply(1, &peerv1.Command{Kind: &peerv1.Command_Registry{Registry: &peerv1.RegistryCommand{AtUnixNano: 1, Actor: "test",
		Op: &peerv1.RegistryCommand_CreateOffice{CreateOffice: &peerv1.CreateOffice{Office: &yizhanv1.Office{Code: county, Name: "县政务服务中心"}}}}}})
	if _, err := f.Registry().Office(county); err != nil {
		t.Fatalf("the registry command was not applied: %v", err)
	}
	if !closed(reg) || closed(cases) {
		t.Errorf("after a registry command: registry waiters woken %v (want true), case waiters woken %v (want false)", closed(reg), closed(cases))
	}

	reg, cases = f.RegistryChanged(), f.CasesChanged()
	apply(2, &peerv1.Command{Kind: &peerv1.Command_Cases{Cases: &peerv1.CaseCommand{AtUnixNano: 2}}})
	if closed(reg) || !closed(cases) {
		t.Errorf("after a case command: registry waiters woken %v (want false), case waiters woken %v (want true)", closed(reg), closed(cases))
	}

	reg, cases = f.RegistryChanged(), f.CasesChanged()
	apply(3, &peerv1.Command{Kind: &peerv1.Command_Replay{Replay: &peerv1.ReplayRegistry{UpstreamIndex: 9}}})
	if !closed(reg) || closed(cases) {
		t.Errorf("after a replay: registry waiters woken %v (want true), case waiters woken %v (want false)", closed(reg), closed(cases))
	}
}

// A calendar write judges the book again at its point of the log: the
// county's own, with its audit record in the same transaction; one
// replayed from above at a township; not a replay that leaves the
// calendar as it was.
func TestFSMCalendarWritesReachTheBook(t *testing.T) {
	holiday := registry.OfficialCalendar(2026)
	holiday.Days = append(holiday.Days, &yizhanv1.CalendarDay{Date: "2026-03-04", Kind: yizhanv1.DayKind_DAY_KIND_HOLIDAY, Name: "抗灾停工"})
	put := &peerv1.RegistryCommand{AtUnixNano: 1, Actor: "county.admin", Op: &peerv1.RegistryCommand_PutCalendar{PutCalendar: &peerv1.PutCalendar{Calendar: holiday}}}

	county := newTestFSM(t, "450122000000")
	county.Apply(&raft.Log{Index: 5, Data: marshalCommand(t, &peerv1.Command{Kind: &peerv1.Command_Registry{Registry: put}})})
	if got := county.Cases().Applied(); got != 5 {
		t.Errorf("the county's book is at index %d after the calendar write at 5", got)
	}
	changes, _, err := county.Cases().RegistryChanges(casebook.ChangesQuery{Limit: 10})
	if err != nil || len(changes) != 1 || changes[0].GetKind() != "calendar" || changes[0].GetIndex() != 5 {
		t.Errorf("the county's audit trail: %v, %v", changes, err)
	}

	// At the township, the book says what it judged again in the log.
	var logged bytes.Buffer
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(slog.NewTextHandler(&logged, nil)))
	judged := func() bool {
		defer logged.Reset()
		return strings.Contains(logged.String(), "judged the cases again with the new calendar")
	}
	township := newTestFSM(t, "450122101000")
	replay := func(index uint64, entries ...*peerv1.ChangelogEntry) {
		township.Apply(&raft.Log{Index: index, Data: marshalCommand(t, &peerv1.Command{Kind: &peerv1.Command_Replay{Replay: &peerv1.ReplayRegistry{Entries: entries, UpstreamIndex: entries[len(entries)-1].GetIndex()}}})})
	}
	replay(7, &peerv1.ChangelogEntry{Index: 1, Command: put})
	if !judged() {
		t.Error("the calendar replayed at the township was not judged again in its book")
	}
	if got := township.Cases().Applied(); got != 7 {
		t.Errorf("the township's book is at index %d after the calendar replayed at 7", got)
	}
	if township.Registry().IsWorkingDay(time.Date(2026, 3, 4, 12, 0, 0, 0, registry.CST)) {
		t.Error("the township's registry does not have the holiday")
	}
	replay(9, &peerv1.ChangelogEntry{Index: 2, PrevIndex: 1, Command: put})
	if judged() {
		t.Error("a replay that left the calendar as it was was judged again")
	}
}

// The official calendars a release brings, put in force at the county,
// reach each office's book at its point of the log as a calendar write
// does: replayed at a township, judged again there; its audit record
// says what was put in force.
func TestFSMOfficialCalendarsReachTheBook(t *testing.T) {
	var older []string
	for line := range strings.Lines(registry.OfficialData()) {
		if !strings.HasPrefix(line, "2026 ") {
			older = append(older, line)
		}
	}
	put := func(data string) *peerv1.RegistryCommand {
		return &peerv1.RegistryCommand{AtUnixNano: 1, Actor: "node:county-1",
			Op: &peerv1.RegistryCommand_PutOfficialCalendars{PutOfficialCalendars: &peerv1.PutOfficialCalendars{Data: data}}}
	}
	var logged bytes.Buffer
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(slog.NewTextHandler(&logged, nil)))
	township := newTestFSM(t, "450122101000")
	township.Apply(&raft.Log{Index: 3, Data: marshalCommand(t, &peerv1.Command{Kind: &peerv1.Command_Replay{Replay: &peerv1.ReplayRegistry{
		Entries: []*peerv1.ChangelogEntry{{Index: 1, Command: put(strings.Join(older, ""))}}, UpstreamIndex: 1}}})})
	if !strings.Contains(logged.String(), "judged the cases again with the new calendar") {
		t.Error("official calendars replayed at the township were not judged again in its book")
	}
	if !township.Registry().IsWorkingDay(time.Date(2026, 10, 1, 12, 0, 0, 0, registry.CST)) {
		t.Error("by official data without 2026, 1 October 2026 is not a working day at the township")
	}
	if got := township.Cases().Applied(); got != 3 {
		t.Errorf("the township's book is at index %d after the data replayed at 3", got)
	}
	county := newTestFSM(t, "450122000000")
	county.Apply(&raft.Log{Index: 5, Data: marshalCommand(t, &peerv1.Command{Kind: &peerv1.Command_Registry{Registry: put(strings.Join(older, ""))}})})
	// The years the data spans: from the first line's to the last's.
	first, last := strings.Fields(older[0])[0], strings.Fields(older[len(older)-1])[0]
	wantSpan := first + "–" + last
	changes, _, err := county.Cases().RegistryChanges(casebook.ChangesQuery{Limit: 10})
	if err != nil || len(changes) != 1 || changes[0].GetKind() != "calendar" || changes[0].GetOp() != "put_official" || changes[0].GetTarget() != wantSpan {
		t.Errorf("the county's audit trail: %v, %v", changes, err)
	}
}
