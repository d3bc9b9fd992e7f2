package raftgroup

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casebook"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/registry"
	"github.com/yizhan-gov/yizhan/supervision"
)

// wdTownship is a township's state machine whose registry holds a county
// and the township, an item (婚姻登记记录证明, promised in 3 working days)
// the township decides, and a query-code key; and the raft index it is at.
type wdTownship struct {
	t     *testing.T
	f     *FSM
	index uint64
	now   time.Time
}

const wdCounty, wdTownshipCode = "450122000000", "450122101000"

func newWDTownship(t *testing.T) *wdTownship {
	t.Helper()
	f := newTestFSM(t, wdTownshipCode)
	reg := f.Registry()
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, registry.CST).UnixNano()
	apply := func(cmd *peerv1.RegistryCommand) {
		t.Helper()
		cmd.AtUnixNano, cmd.Actor = at, "county.admin"
		if _, err := reg.Apply(reg.Index()+1, cmd); err != nil {
			t.Fatalf("registry %v: %v", cmd, err)
		}
	}
	for _, o := range []*yizhanv1.Office{{Code: wdCounty, Name: "县政务服务中心"}, {Code: wdTownshipCode, Name: "镇便民服务中心"}} {
		apply(&peerv1.RegistryCommand{Op: &peerv1.RegistryCommand_CreateOffice{CreateOffice: &peerv1.CreateOffice{Office: o}}})
	}
	apply(&peerv1.RegistryCommand{Op: &peerv1.RegistryCommand_CreateDepartment{CreateDepartment: &peerv1.CreateDepartment{Department: &yizhanv1.Department{Code: "mz", Name: "民政局"}}}})
	apply(&peerv1.RegistryCommand{Op: &peerv1.RegistryCommand_CreateItem{CreateItem: &peerv1.CreateItem{Item: &yizhanv1.Item{
		Code: "ZM-JB", Name: "婚姻登记记录证明", Type: yizhanv1.ItemType_ITEM_TYPE_PUBLIC_SERVICE, DepartmentCode: "mz",
		Materials:          []*yizhanv1.Material{{Name: "居民身份证", Required: true}},
		StatutoryLimitDays: 5, PromisedLimitDays: 3, CaseKind: yizhanv1.CaseKind_CASE_KIND_PROMISED, ExerciseTier: yizhanv1.Tier_TIER_TOWNSHIP,
	}}}})
	apply(&peerv1.RegistryCommand{Op: &peerv1.RegistryCommand_CreateGrant{CreateGrant: &peerv1.CreateGrant{Grant: &yizhanv1.Grant{
		ItemCode: "ZM-JB", OfficeCode: wdTownshipCode,
		Rights: []yizhanv1.Right{yizhanv1.Right_RIGHT_ACCEPT, yizhanv1.Right_RIGHT_REVIEW, yizhanv1.Right_RIGHT_APPROVE, yizhanv1.Right_RIGHT_CERTIFY, yizhanv1.Right_RIGHT_DELIVER},
	}}}})
	key := make([]byte, registry.QueryCodeKeyLen)
	for i := range key {
		key[i] = byte(i + 1)
	}
	apply(&peerv1.RegistryCommand{Op: &peerv1.RegistryCommand_PutQueryCodeKey{PutQueryCodeKey: &peerv1.PutQueryCodeKey{Key: &peerv1.QueryCodeKey{Id: 1, Key: key}}}})
	return &wdTownship{t: t, f: f, index: 100}
}

var wdChain = [][]byte{append([]byte{0x30, 0x82, 0x02, 0x2c}, []byte(strings.Repeat("leaf of township ", 40))[:556]...), append([]byte{0x30, 0x82}, "county CA"...)}

func (o *wdTownship) cases(cmd *peerv1.CaseCommand) {
	o.t.Helper()
	o.index++
	cmd.AtUnixNano = o.now.UnixNano()
	res := o.f.Apply(&raft.Log{Index: o.index, Type: raft.LogCommand, Data: marshalCommand(o.t, &peerv1.Command{Kind: &peerv1.Command_Cases{Cases: cmd}})}).(*ApplyResult)
	if res.Err != nil {
		o.t.Fatalf("case command at %d: %v", o.index, res.Err)
	}
}

func (o *wdTownship) file(n int) string {
	o.t.Helper()
	reg := o.f.Registry()
	it, err := reg.Item("ZM-JB", 0)
	if err != nil {
		o.t.Fatal(err)
	}
	number := casework.CaseNumber(wdTownshipCode, o.now, uint32(n))
	keyID, key, _ := reg.NewestQueryCodeKey()
	e, err := casework.NewFiling(casework.FileInput{
		Number: number, QueryCode: "7KQ9M3XP2WHD", Item: it, Office: wdTownshipCode,
		Applicant: &yizhanv1.Applicant{Name: fmt.Sprintf("申请人%d", n), IdNumber: "450122198001010010", Phone: fmt.Sprintf("139077%05d", n)},
		Materials: []*yizhanv1.SubmittedMaterial{{Name: "居民身份证", Copies: 1}},
		Actor:     casework.Actor{Username: "clerk", Office: wdTownshipCode, Department: "mz", Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_CLERK}},
		At:        o.now, QueryCodeKeyID: keyID, QueryCodeKey: key,
	}, reg)
	if err != nil {
		o.t.Fatal(err)
	}
	e.SignerChain = wdChain
	casework.Seal(e, casework.GenesisHash(number))
	o.cases(&peerv1.CaseCommand{Op: &peerv1.CaseCommand_Append{Append: &peerv1.AppendCaseEvents{CaseNumber: number, Events: []*yizhanv1.CaseEvent{e}}}})
	return number
}

func (o *wdTownship) act(number string, a casework.Action, in *yizhanv1.CaseActionRequest, user string) {
	o.t.Helper()
	c, events, ok := o.f.Cases().CaseAndEvents(number)
	if !ok {
		o.t.Fatalf("no case %s", number)
	}
	actor := casework.Actor{Username: user, Office: wdTownshipCode, Department: "mz",
		Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_CLERK, yizhanv1.Role_ROLE_REVIEWER, yizhanv1.Role_ROLE_APPROVER}}
	if in == nil {
		in = &yizhanv1.CaseActionRequest{}
	}
	e, err := casework.NewEvent(c, events, a, in, actor, wdTownshipCode, o.now, o.f.Registry())
	if err != nil {
		o.t.Fatalf("%s %s: %v", a, number, err)
	}
	e.SignerChain = wdChain
	casework.Seal(e, events[len(events)-1].GetHash())
	o.cases(&peerv1.CaseCommand{Op: &peerv1.CaseCommand_Append{Append: &peerv1.AppendCaseEvents{CaseNumber: number, Events: []*yizhanv1.CaseEvent{e}}}})
}

// holidayWeek: a case accepted Monday 2 March 2026 and decided Friday
// 6 March (late by the data in force: Wednesday 4 March is worked), and
// the sweep at 10:00 that Friday. It returns the cards the township holds.
func (o *wdTownship) holidayWeek() []*yizhanv1.Card {
	o.t.Helper()
	o.now = time.Date(2026, 3, 2, 9, 0, 0, 0, registry.CST)
	d := o.file(1)
	o.now = o.now.Add(time.Minute)
	o.act(d, casework.ActionAccept, nil, "clerk")
	o.now = o.now.Add(time.Minute)
	o.act(d, casework.ActionReview, &yizhanv1.CaseActionRequest{Agrees: true, Reason: "同意"}, "clerk")
	o.now = time.Date(2026, 3, 6, 9, 0, 0, 0, registry.CST)
	o.act(d, casework.ActionDecide, &yizhanv1.CaseActionRequest{Approved: true, Reason: "符合条件"}, "approver")
	o.now = time.Date(2026, 3, 6, 10, 0, 0, 0, registry.CST)
	if checks, err := o.f.Cases().CardsDue(o.now, o.f.Registry(), supervision.Policy{}, casebook.MaxCardChecks); err != nil {
		o.t.Fatal(err)
	} else if len(checks) > 0 {
		o.cases(&peerv1.CaseCommand{Op: &peerv1.CaseCommand_EvaluateCards{EvaluateCards: &peerv1.EvaluateCards{Checks: checks}}})
	}
	cards, _, err := o.f.Cases().Cards(casebook.CardQuery{PageSize: 1000})
	if err != nil {
		o.t.Fatal(err)
	}
	return cards
}

// replay applies one registry command replayed from the county, as the
// township's next raft entry.
func (o *wdTownship) replay(cmd *peerv1.RegistryCommand) {
	o.t.Helper()
	o.index++
	reg := o.f.Registry()
	e := &peerv1.ChangelogEntry{Index: reg.Index() + 1, PrevIndex: reg.Index(), Command: cmd}
	res := o.f.Apply(&raft.Log{Index: o.index, Type: raft.LogCommand, Data: marshalCommand(o.t, &peerv1.Command{Kind: &peerv1.Command_Replay{Replay: &peerv1.ReplayRegistry{
		Entries: []*peerv1.ChangelogEntry{e}, UpstreamIndex: e.GetIndex()}}})}).(*ApplyResult)
	if res.Err != nil {
		o.t.Fatal(res.Err)
	}
}

// install applies a registry snapshot of the county holding what the
// township holds and then cmd, as the township's next raft entry.
func (o *wdTownship) install(cmd *peerv1.RegistryCommand) {
	o.t.Helper()
	county := registry.New(registry.Options{})
	if err := county.Restore(o.f.Registry().Snapshot()); err != nil {
		o.t.Fatal(err)
	}
	if _, err := county.Apply(county.Index()+1, cmd); err != nil {
		o.t.Fatal(err)
	}
	o.index++
	res := o.f.Apply(&raft.Log{Index: o.index, Type: raft.LogCommand, Data: marshalCommand(o.t, &peerv1.Command{Kind: &peerv1.Command_InstallSnapshot{
		InstallSnapshot: &peerv1.InstallRegistrySnapshot{Snapshot: county.Snapshot()}}})}).(*ApplyResult)
	if res.Err != nil {
		o.t.Fatal(res.Err)
	}
	if county.OfficialInForce() != o.f.Registry().OfficialInForce() {
		o.t.Fatal("the snapshot did not bring the official data")
	}
}

// A write of the calendar replayed from the county withdraws, at a
// township, the cards it no longer earns at the write's time (the
// county's command's: casebook/DESIGN.md, "A calendar write"), as the
// county's own book does; so do the official calendars put in force,
// replayed or in a registry snapshot. A replayed PutOfficialCalendars
// withdrew them with no time (the state machine took the time of a
// replayed PutCalendar only).
func TestReplayedOfficialCalendarsWithdrawAtTheCommandsTime(t *testing.T) {
	putAt := time.Date(2026, 3, 6, 11, 0, 0, 0, registry.CST)

	// The data in force with Wednesday 4 March 2026 off.
	var lines []string
	for line := range strings.Lines(registry.OfficialData()) {
		if strings.HasPrefix(line, "2026 ") {
			line = strings.TrimSuffix(line, "\n") + " 0304h\n"
		}
		lines = append(lines, line)
	}
	official := &peerv1.RegistryCommand{AtUnixNano: putAt.UnixNano(), Actor: "node:county-1",
		Op: &peerv1.RegistryCommand_PutOfficialCalendars{PutOfficialCalendars: &peerv1.PutOfficialCalendars{Data: strings.Join(lines, "")}}}
	cal := registry.OfficialCalendar(2026)
	cal.Days = append(cal.Days, &yizhanv1.CalendarDay{Date: "2026-03-04", Kind: yizhanv1.DayKind_DAY_KIND_HOLIDAY, Name: "抗灾停工"})
	calendar := &peerv1.RegistryCommand{AtUnixNano: putAt.UnixNano(), Actor: "county.admin",
		Op: &peerv1.RegistryCommand_PutCalendar{PutCalendar: &peerv1.PutCalendar{Calendar: cal}}}

	for _, tc := range []struct {
		name     string
		cmd      *peerv1.RegistryCommand
		snapshot bool // delivered in a registry snapshot, not a replay
	}{
		{"a county calendar write replayed (the reference)", calendar, false},
		{"the official calendars in a registry snapshot", official, true},
		{"the official calendars replayed", official, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := newWDTownship(t)
			o.t = t
			before := o.holidayWeek()
			live := 0
			for _, c := range before {
				if !c.GetWithdrawn() && c.GetRule() != yizhanv1.CardRule_CARD_RULE_DUE_SOON {
					live++
				}
			}
			if live == 0 {
				t.Fatalf("by the data in force the township holds no card to withdraw: %v (the test shows nothing)", before)
			}
			o.now = putAt
			if tc.snapshot {
				o.install(tc.cmd)
			} else {
				o.replay(tc.cmd)
			}
			cards, _, err := o.f.Cases().Cards(casebook.CardQuery{PageSize: 1000})
			if err != nil {
				t.Fatal(err)
			}
			withdrawn := 0
			for _, c := range cards {
				if !c.GetWithdrawn() {
					continue
				}
				withdrawn++
				if c.GetWithdrawnAt() == nil || !c.GetWithdrawnAt().AsTime().Equal(putAt) {
					t.Errorf("card %s %s withdrawn at %v (%q), want the command's time %v",
						c.GetCaseNumber(), c.GetRule(), c.GetWithdrawnAt(), c.GetWithdrawnReason(), putAt)
				}
			}
			if withdrawn == 0 {
				t.Fatalf("the replayed write withdrew no card: %v", cards)
			}
		})
	}
}
