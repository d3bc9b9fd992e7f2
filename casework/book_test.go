package casework

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

const (
	eFiled     = yizhanv1.EventType_EVENT_TYPE_FILED
	eForwarded = yizhanv1.EventType_EVENT_TYPE_FORWARDED
	eReceived  = yizhanv1.EventType_EVENT_TYPE_RECEIVED
	eAccepted  = yizhanv1.EventType_EVENT_TYPE_ACCEPTED
	eReviewed  = yizhanv1.EventType_EVENT_TYPE_REVIEWED
	eDecided   = yizhanv1.EventType_EVENT_TYPE_DECIDED
	eCertified = yizhanv1.EventType_EVENT_TYPE_CERTIFIED
	eDelivered = yizhanv1.EventType_EVENT_TYPE_DELIVERED
	eClosed    = yizhanv1.EventType_EVENT_TYPE_CLOSED
	eRefused   = yizhanv1.EventType_EVENT_TYPE_REFUSED
	eWithdrawn = yizhanv1.EventType_EVENT_TYPE_WITHDRAWN
)

// at is one staff action of a life, at an office.
type at struct {
	office string
	step   step
}

func TestCaseLives(t *testing.T) {
	townShipAccept := func(w *world) {
		w.reg.grant(&yizhanv1.Grant{ItemCode: tobacco, OfficeCode: township, Rights: []yizhanv1.Right{right.accept, right.review}, Note: "初审下放"})
	}
	tests := []struct {
		name  string
		setup func(*world)
		item  string
		acts  []at
		// The whole log as the county holds it at the end.
		want  []yizhanv1.EventType
		final yizhanv1.CaseState
	}{
		{
			name: "village → township (relay) → county decides → back to the village",
			item: tobacco,
			acts: []at{
				{county, sAccept}, {county, sReview}, {county, sApprove}, {county, sCertify},
				{village, step{ActionDeliver, nil, eastAgent}},
			},
			want: []yizhanv1.EventType{
				eFiled, eForwarded, eReceived, eForwarded, eReceived, // up: village → township → county
				eAccepted, eReviewed, eDecided, eCertified,
				eForwarded, eReceived, eForwarded, eReceived, // down: county → township → village
				eDelivered, eClosed,
			},
			final: stClosed,
		},
		{
			name:  "the township accepts and reviews, the county approves",
			setup: townShipAccept,
			item:  tobacco,
			acts: []at{
				{township, step{ActionAccept, nil, townClerk}}, {township, step{ActionReview, &req{Agrees: true, Reason: "初审同意"}, townReviewer}},
				{county, sApprove}, {county, sCertify},
				{village, step{ActionDeliver, nil, eastAgent}},
			},
			want: []yizhanv1.EventType{
				eFiled, eForwarded, eReceived, eAccepted, eReviewed, eForwarded, eReceived,
				eDecided, eCertified, eForwarded, eReceived, eForwarded, eReceived, eDelivered, eClosed,
			},
			final: stClosed,
		},
		{
			name: "a township item decided at the township",
			item: townItem,
			acts: []at{
				{township, step{ActionAccept, nil, townClerk}}, {township, step{ActionReview, &req{Agrees: true, Reason: "同意"}, townReviewer}},
				{township, step{ActionDecide, &req{Approved: true, Reason: "符合规划"}, townApprover}},
				{village, step{ActionDeliver, nil, eastAgent}},
			},
			want: []yizhanv1.EventType{
				eFiled, eForwarded, eReceived, eAccepted, eReviewed, eDecided, eForwarded, eReceived, eDelivered, eClosed,
			},
			final: stClosed,
		},
		{
			name: "refused at the county, the notice goes back to the village",
			item: tobacco,
			acts: []at{{county, sRefuse}, {village, step{ActionDeliver, nil, eastAgent}}},
			want: []yizhanv1.EventType{
				eFiled, eForwarded, eReceived, eForwarded, eReceived, eRefused,
				eForwarded, eReceived, eForwarded, eReceived, eDelivered, eClosed,
			},
			final: stClosed,
		},
		{
			name: "withdrawn at the county: final where it is",
			item: tobacco,
			acts: []at{{county, sAccept}, {county, sWithdraw}},
			want: []yizhanv1.EventType{
				eFiled, eForwarded, eReceived, eForwarded, eReceived, eAccepted, eWithdrawn,
			},
			final: stWithdrawn,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			if tt.setup != nil {
				tt.setup(w)
			}
			materials := tobaccoMaterials[:4]
			if tt.item == townItem {
				materials = []string{"农村宅基地和建房申请表", "户口簿"}
			}
			n := w.file(village, tt.item, eastAgent, materials...)
			for _, a := range tt.acts {
				w.settle()
				w.mustDo(a.office, n, a.step.act, a.step.in, a.step.actor)
			}
			w.settle()
			countyLog := w.books[county].Events(n)
			if got := eventTypes(countyLog); !slices.Equal(got, tt.want) {
				t.Fatalf("the county holds\n%v\nwant\n%v", got, tt.want)
			}
			if err := VerifyChain(n, countyLog); err != nil {
				t.Fatal(err)
			}
			for o, b := range w.books {
				if len(b.Outbox()) != 0 {
					t.Errorf("%s has undelivered messages: %v", o, b.Outbox())
				}
				if len(b.NeedsAction()) != 0 {
					t.Errorf("%s still needs to act on %v", o, b.NeedsAction())
				}
			}
			// The offices on the path all hold the case. The county has
			// the whole log; so has the village when the case came back
			// to it (a withdrawal at the county is not pushed down).
			for _, o := range []string{village, township, county} {
				c, ok := w.books[o].Case(n)
				if !ok {
					t.Fatalf("%s does not hold the case", o)
				}
				if (o == county || o == village && tt.final == stClosed) && c.GetState() != tt.final {
					t.Errorf("%s sees %s, want %s", o, c.GetState(), tt.final)
				}
			}
			if w.books[village2].Len() != 0 {
				t.Errorf("the other village holds cases")
			}
			if tt.final == stClosed {
				vlog := w.books[village].Events(n)
				if !proto.Equal(vlog[len(vlog)-1], countyLog[len(countyLog)-1]) {
					t.Errorf("the village and the county do not end on the same event")
				}
			}
		})
	}
}

func TestPendingHoldsForSuspensionAndFees(t *testing.T) {
	w := newWorld(t)
	n := w.file(village, tobacco, eastAgent, tobaccoMaterials[:4]...)
	w.settle()
	w.mustDo(county, n, ActionAccept, nil, countyClerk)
	w.mustDo(county, n, ActionReview, &req{Agrees: true, Reason: "同意"}, countyReview)
	w.mustDo(county, n, ActionAssessFee, &req{FeeCents: 2500}, countyClerk)
	w.mustDo(county, n, ActionDecide, &req{Approved: true, Reason: "准予"}, countyApprove)
	w.mustDo(county, n, ActionCertify, &req{CertificateNumber: "C-8"}, countyClerk)
	if a, to, ok := w.books[county].Pending(n); ok {
		t.Fatalf("Pending = %s to %s while the fee is unpaid", a, to)
	}
	w.mustDo(county, n, ActionPay, &req{FeeCents: 2500, ReceiptNumber: "R-8"}, countyClerk)
	if a, to, ok := w.books[county].Pending(n); !ok || a != ActionForward || to != township {
		t.Fatalf("Pending = %s %s %v, want forward to the township", a, to, ok)
	}

	// Suspended cases stay where they are.
	c := &yizhanv1.Case{OwnerOffice: county, State: stAccepted, Suspended: true, Route: steps(right.accept, county, right.approve, county, right.deliver, village)}
	if _, _, ok := Pending(c, nil, county); ok {
		t.Error("a suspended case is pending")
	}
	c.Suspended = false
	if _, _, ok := Pending(c, nil, county); ok {
		t.Error("an accepted case whose approver is here is pending")
	}
	c.State = stApproved
	if a, to, _ := Pending(c, nil, county); a != ActionForward || to != township {
		t.Errorf("an approved case: %s to %s, want forward to the township", a, to)
	}
	if _, _, ok := Pending(c, nil, township); ok {
		t.Error("a case is pending at an office that does not hold it")
	}
	c.State = stWithdrawn
	if _, _, ok := Pending(c, nil, county); ok {
		t.Error("a withdrawn case is pending")
	}
	if NewAutoEvent(c, ActionAccept, "", county, t0) != nil {
		t.Error("NewAutoEvent makes a staff action")
	}
}

// appendCmd is an Append command for events, sealed after prev.
func appendCmd(number string, prev []byte, events ...*yizhanv1.CaseEvent) *peerv1.CaseCommand {
	for _, e := range events {
		Seal(e, prev)
		prev = e.GetHash()
	}
	return &peerv1.CaseCommand{Op: &peerv1.CaseCommand_Append{Append: &peerv1.AppendCaseEvents{CaseNumber: number, Events: events}}}
}

func TestBookAppendChecks(t *testing.T) {
	w := newWorld(t)
	n := w.file(county, tobacco, countyClerk, tobaccoMaterials[:4]...)
	b := w.books[county]
	last := func() *yizhanv1.CaseEvent { es := b.Events(n); return es[len(es)-1] }
	accept := func() *yizhanv1.CaseEvent {
		c, _ := b.Case(n)
		e, err := NewEvent(c, nil, ActionAccept, nil, countyClerk, county, w.tick(), w.reg)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	filing := func(number, office string, actor Actor) *yizhanv1.CaseEvent {
		e, err := NewFiling(FileInput{Number: number, QueryCode: "q", Item: w.reg.item(tobacco), Office: office, Applicant: applicant(), Actor: actor, At: w.tick()}, w.reg)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	tests := []struct {
		name     string
		cmd      func() *peerv1.CaseCommand
		sentinel error
		want     string
	}{
		{name: "a number taken", sentinel: ErrConflict, want: "exists",
			cmd: func() *peerv1.CaseCommand { return appendCmd(n, GenesisHash(n), filing(n, county, countyClerk)) }},
		{name: "another office's number", sentinel: ErrConflict, want: "own numbers", cmd: func() *peerv1.CaseCommand {
			m := CaseNumber(village, t0, 9)
			return appendCmd(m, GenesisHash(m), filing(m, village, eastAgent))
		}},
		{name: "a case not held", sentinel: ErrNotFound, cmd: func() *peerv1.CaseCommand {
			e := accept()
			return appendCmd(CaseNumber(county, t0, 99), last().GetHash(), e)
		}},
		{name: "an event of another office", sentinel: ErrConflict, want: "not this office", cmd: func() *peerv1.CaseCommand {
			e := accept()
			e.OfficeCode = township
			return appendCmd(n, last().GetHash(), e)
		}},
		{name: "a seq gap", sentinel: ErrConflict, want: "seq", cmd: func() *peerv1.CaseCommand {
			e := accept()
			e.Seq++
			return appendCmd(n, last().GetHash(), e)
		}},
		{name: "a wrong prev_hash", sentinel: ErrConflict, want: "prev_hash", cmd: func() *peerv1.CaseCommand {
			return appendCmd(n, GenesisHash(n), accept())
		}},
		{name: "a wrong hash", sentinel: ErrConflict, want: "hash", cmd: func() *peerv1.CaseCommand {
			cmd := appendCmd(n, last().GetHash(), accept())
			cmd.GetAppend().Events[0].Reason = "changed after sealing"
			return cmd
		}},
		{name: "no time", sentinel: ErrConflict, want: "time", cmd: func() *peerv1.CaseCommand {
			e := accept()
			e.At = nil
			return appendCmd(n, last().GetHash(), e)
		}},
		{name: "an invalid transition", sentinel: ErrFailedPrecondition, want: "case is CASE_STATE_FILED", cmd: func() *peerv1.CaseCommand {
			e := accept()
			e.Type = eDelivered
			return appendCmd(n, last().GetHash(), e)
		}},
		{name: "a batch whose second event is bad stores nothing", sentinel: ErrFailedPrecondition, want: "accepted already", cmd: func() *peerv1.CaseCommand {
			e1, e2 := accept(), accept()
			e2.Seq = e1.GetSeq() + 1
			return appendCmd(n, last().GetHash(), e1, e2)
		}},
		{name: "no events", sentinel: registryInvalid, cmd: func() *peerv1.CaseCommand { return appendCmd(n, nil) }},
		{name: "no operation", sentinel: registryInvalid, cmd: func() *peerv1.CaseCommand { return &peerv1.CaseCommand{} }},
		{name: "nil command", sentinel: registryInvalid, cmd: func() *peerv1.CaseCommand { return nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := b.Snapshot()
			_, err := b.Apply(tt.cmd(), w.reg)
			wantErr(t, err, tt.sentinel, tt.want)
			if after := b.Snapshot(); !proto.Equal(before, after) {
				t.Errorf("a refused command changed the book")
			}
		})
	}

	t.Run("a case held elsewhere", func(t *testing.T) {
		w := newWorld(t)
		n := w.file(village, tobacco, eastAgent, tobaccoMaterials[:4]...)
		w.autos() // forwarded: the township holds it now
		vb := w.books[village]
		c, _ := vb.Case(n)
		e := &yizhanv1.CaseEvent{Seq: c.GetLastSeq() + 1, Type: eWithdrawn, At: ts(w.tick()), OfficeCode: village, Reason: "x"}
		evs := vb.Events(n)
		_, err := vb.Apply(appendCmd(n, evs[len(evs)-1].GetHash(), e), w.reg)
		wantErr(t, err, ErrFailedPrecondition, "held by office "+township)
	})
}

func TestBookOutbox(t *testing.T) {
	w := newWorld(t)
	vb, tb := w.books[village], w.books[township]
	n := w.file(village, tobacco, eastAgent, tobaccoMaterials[:4]...)
	want := func(b *Book, entries ...*peerv1.OutboxEntry) {
		t.Helper()
		got := b.Outbox()
		if len(got) != len(entries) {
			t.Fatalf("outbox %v, want %v", got, entries)
		}
		for i := range got {
			if !proto.Equal(got[i], entries[i]) {
				t.Errorf("outbox[%d] = %v, want %v", i, got[i], entries[i])
			}
		}
	}
	// Filing queues a mirror to the parent.
	want(vb, &peerv1.OutboxEntry{DestOffice: township, CaseNumber: n, UptoSeq: 1})
	// Forwarding to the parent makes the same entry a handoff.
	w.autos()
	want(vb, &peerv1.OutboxEntry{DestOffice: township, CaseNumber: n, UptoSeq: 2, Handoff: true})
	m, ok := vb.Message(vb.Outbox()[0])
	if !ok || m.GetHandoffTo() != township || m.GetFromOffice() != village || len(m.GetEvents()) != 2 {
		t.Fatalf("message %v", m)
	}
	// An ack of less than the entry keeps it, handoff and all.
	if _, err := vb.Apply(&peerv1.CaseCommand{Op: &peerv1.CaseCommand_Ack{Ack: &peerv1.AckOutbox{Acks: []*peerv1.OutboxEntry{{DestOffice: township, CaseNumber: n, UptoSeq: 1}}}}}, w.reg); err != nil {
		t.Fatal(err)
	}
	want(vb, &peerv1.OutboxEntry{DestOffice: township, CaseNumber: n, UptoSeq: 2, Handoff: true})

	// The township receives it from its child: a mirror to the county.
	if r := receive(t, tb, w.reg, m); r.GetRefused() != "" || r.GetHaveSeq() != 2 {
		t.Fatalf("receipt %v", r)
	}
	want(tb, &peerv1.OutboxEntry{DestOffice: county, CaseNumber: n, UptoSeq: 2})
	if c, _ := tb.Case(n); c.GetOwnerOffice() != township || c.GetMirror() {
		t.Errorf("after the handoff the township shows owner %s mirror %v", c.GetOwnerOffice(), c.GetMirror())
	}
	if got := tb.NeedsAction(); !slices.Equal(got, []string{n}) {
		t.Errorf("NeedsAction = %v", got)
	}
	if a, _, _ := tb.Pending(n); a != ActionReceive {
		t.Errorf("Pending = %s, want receive", a)
	}
	out, err := vb.Apply(&peerv1.CaseCommand{Op: &peerv1.CaseCommand_Ack{Ack: &peerv1.AckOutbox{Acks: []*peerv1.OutboxEntry{{DestOffice: township, CaseNumber: n, UptoSeq: 2}}}}}, w.reg)
	if err != nil || len(out.(*peerv1.AckOutbox).GetAcks()) != 1 {
		t.Fatalf("ack: %v, %v", out, err)
	}
	want(vb)

	// The township receives and forwards up: one entry, raised, a handoff;
	// and a mirror down to the village where the case was filed.
	w.autos()
	want(tb, &peerv1.OutboxEntry{DestOffice: county, CaseNumber: n, UptoSeq: 3}, &peerv1.OutboxEntry{DestOffice: village, CaseNumber: n, UptoSeq: 3})
	w.autos()
	want(tb, &peerv1.OutboxEntry{DestOffice: county, CaseNumber: n, UptoSeq: 4, Handoff: true}, &peerv1.OutboxEntry{DestOffice: village, CaseNumber: n, UptoSeq: 4})

	// The county queues nothing upwards, its mirror down toward the
	// origin; forwarding down makes that entry a handoff to the child.
	w.settle()
	cb := w.books[county]
	want(cb)
	for _, s := range []step{sAccept, sReview, sApprove, sCertify} {
		w.mustDo(county, n, s.act, s.in, s.actor)
	}
	c, _ := cb.Case(n)
	want(cb, &peerv1.OutboxEntry{DestOffice: township, CaseNumber: n, UptoSeq: c.GetLastSeq()})
	w.autos()
	c, _ = cb.Case(n)
	want(cb, &peerv1.OutboxEntry{DestOffice: township, CaseNumber: n, UptoSeq: c.GetLastSeq(), Handoff: true})
	// The township receives it from its parent: no mirror back up, a
	// mirror on down to the village, which sees it coming back.
	w.deliver()
	want(cb)
	if vc, _ := vb.Case(n); vc.GetLastSeq() != c.GetLastSeq() || vc.GetOwnerOffice() != township {
		t.Errorf("the village's copy: seq %d owner %s, want %d and the township", vc.GetLastSeq(), vc.GetOwnerOffice(), c.GetLastSeq())
	}
}

func TestBookRatingAfterCloseIsMirroredUp(t *testing.T) {
	w := newWorld(t)
	vb, tb, cb := w.books[village], w.books[township], w.books[county]
	n := w.file(village, tobacco, eastAgent, tobaccoMaterials[:4]...)
	w.settle()
	for _, s := range []step{sAccept, sReview, sApprove, sCertify} {
		w.mustDo(county, n, s.act, s.in, s.actor)
	}
	w.settle()
	w.mustDo(village, n, ActionDeliver, nil, eastAgent)
	w.settle()
	closed, _ := cb.Case(n)
	if closed.GetState() != stClosed || closed.GetOwnerOffice() != village || len(vb.Outbox()) != 0 {
		t.Fatalf("before rating: the county sees %s owned by %s; the village's outbox %v", closed.GetState(), closed.GetOwnerOffice(), vb.Outbox())
	}

	// The citizen rates it where it ended: the village, its owner.
	c := w.mustDo(village, n, ActionRate, &req{Rating: yizhanv1.Rating_RATING_VERY_SATISFIED, Reason: "代办员上门服务"}, citizen)
	if c.GetRating() != yizhanv1.Rating_RATING_VERY_SATISFIED || c.GetState() != stClosed {
		t.Fatalf("the village's case: %s, %s", c.GetRating(), c.GetState())
	}
	got := vb.Outbox()
	want := &peerv1.OutboxEntry{DestOffice: township, CaseNumber: n, UptoSeq: c.GetLastSeq()}
	if len(got) != 1 || !proto.Equal(got[0], want) {
		t.Fatalf("the village's outbox %v, want %v", got, want)
	}
	for o, b := range w.books {
		if len(b.NeedsAction()) != 0 {
			t.Errorf("%s needs to act on %v after the rating", o, b.NeedsAction())
		}
	}
	// Status flows up: the township mirrors it on to the county.
	w.deliver()
	if got := tb.Outbox(); len(got) != 1 || got[0].GetDestOffice() != county || got[0].GetUptoSeq() != c.GetLastSeq() || got[0].GetHandoff() {
		t.Fatalf("the township's outbox %v, want a mirror to the county", got)
	}
	w.settle()
	for _, b := range []*Book{tb, cb} {
		m, _ := b.Case(n)
		if m.GetRating() != yizhanv1.Rating_RATING_VERY_SATISFIED || m.GetRatingComment() != "代办员上门服务" || !m.GetMirror() || m.GetOwnerOffice() != village {
			t.Errorf("%s holds rating %s %q, mirror %v, owner %s", b.Office(), m.GetRating(), m.GetRatingComment(), m.GetMirror(), m.GetOwnerOffice())
		}
	}
	// A complaint after the rating travels the same way.
	w.mustDo(village, n, ActionComplain, &req{Reason: "证照邮寄慢"}, citizen)
	w.settle()
	if m, _ := cb.Case(n); m.GetComplaints() != 1 || m.GetRating() != yizhanv1.Rating_RATING_VERY_SATISFIED {
		t.Errorf("the county sees %d complaints, rating %s", m.GetComplaints(), m.GetRating())
	}
	// The offices above hold a copy only: they cannot record a rating.
	_, err := w.do(county, n, ActionComplain, &req{Reason: "x"}, citizen)
	wantErr(t, err, ErrFailedPrecondition, "held by office "+village)
}

// registryInvalid matches every *registry.ValidationError.
var registryInvalid = func() error {
	_, _, _, err := ParseCaseNumber("")
	return unwrapInvalid(err)
}()

func TestBookNextSeqAndList(t *testing.T) {
	w := newWorld(t)
	vb := w.books[village]
	day := t0.Format("20060102")
	if got := vb.NextSeq(day); got != 1 {
		t.Fatalf("NextSeq of an empty book = %d", got)
	}
	a := w.file(village, tobacco, eastAgent, tobaccoMaterials[:4]...)
	b := w.file(village, townItem, eastAgent, "户口簿")
	c := w.file(county, joint, countyClerk, "营业执照")
	if got := vb.NextSeq(day); got != 3 {
		t.Errorf("NextSeq = %d after two filings, want 3", got)
	}
	if got := vb.NextSeq("20250304"); got != 1 {
		t.Errorf("NextSeq of another day = %d", got)
	}
	if a != CaseNumber(village, t0, 1) || b != CaseNumber(village, t0, 2) || c != CaseNumber(county, t0, 1) {
		t.Errorf("numbers %s %s %s", a, b, c)
	}
	w.settle()
	cb := w.books[county]
	numbers := func(cs []*yizhanv1.Case) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.GetNumber())
		}
		return out
	}
	tests := []struct {
		name string
		book *Book
		f    ListFilter
		want []string
	}{
		// The county mirrors every case, the township's own too.
		{name: "all the county holds", book: cb, want: []string{c, a, b}},
		{name: "all the township holds", book: w.books[township], want: []string{a, b}},
		{name: "by item", book: w.books[township], f: ListFilter{ItemCode: townItem}, want: []string{b}},
		{name: "by state", book: cb, f: ListFilter{State: stFiled}, want: []string{c, a, b}},
		{name: "none in a state", book: cb, f: ListFilter{State: stClosed}},
		{name: "by office: filed at the village", book: cb, f: ListFilter{Office: village}, want: []string{a, b}},
		{name: "by office: handled by the township", book: cb, f: ListFilter{Office: township}, want: []string{a, b}},
		{name: "by office: the county's own and those it holds", book: cb, f: ListFilter{Office: county}, want: []string{c, a}},
		{name: "by office: another village", book: cb, f: ListFilter{Office: village2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := numbers(tt.book.List(tt.f)); !slices.Equal(got, tt.want) {
				t.Errorf("List = %v, want %v", got, tt.want)
			}
		})
	}
	for _, c := range w.books[township].List(ListFilter{}) {
		if c.GetNumber() == b && c.GetMirror() {
			t.Errorf("the township's own case shows as a mirror")
		}
		if c.GetNumber() == a && !c.GetMirror() {
			t.Errorf("a case held by the county shows as the township's")
		}
	}
}

func TestBookSnapshotRestore(t *testing.T) {
	w := newWorld(t)
	n := w.file(village, tobacco, eastAgent, tobaccoMaterials[:4]...)
	w.file(village, townItem, eastAgent, "户口簿")
	w.settle()
	w.mustDo(county, n, ActionAccept, nil, countyClerk)
	w.autos() // nothing to do; the county's mirror entry stays
	for _, o := range []string{village, township, county} {
		b := w.books[o]
		s := b.Snapshot()
		r := NewBook(o)
		if err := r.Restore(s); err != nil {
			t.Fatalf("%s: restore: %v", o, err)
		}
		if !proto.Equal(r.Snapshot(), s) {
			t.Errorf("%s: the snapshot of the restored book differs", o)
		}
		if r.Len() != b.Len() || !slices.Equal(r.NeedsAction(), b.NeedsAction()) || r.NextSeq("20250303") != b.NextSeq("20250303") {
			t.Errorf("%s: the restored book answers differently", o)
		}
		for _, c := range b.List(ListFilter{}) {
			rc, ok := r.Case(c.GetNumber())
			if !ok || !proto.Equal(rc, c) {
				t.Errorf("%s: case %s restored as %v, want %v", o, c.GetNumber(), rc, c)
			}
		}
		// Restoring over a book replaces what it held.
		other := NewBook(o)
		other.Restore(s)
		if err := other.Restore(&peerv1.CaseBookSnapshot{}); err != nil || other.Len() != 0 || len(other.Outbox()) != 0 {
			t.Errorf("%s: restoring an empty snapshot: %v, %d cases", o, err, other.Len())
		}
	}

	t.Run("bad snapshots change nothing", func(t *testing.T) {
		good := w.books[township].Snapshot()
		for name, change := range map[string]func(*peerv1.CaseBookSnapshot){
			"a case twice":      func(s *peerv1.CaseBookSnapshot) { s.Cases = append(s.Cases, s.Cases[0]) },
			"a broken chain":    func(s *peerv1.CaseBookSnapshot) { s.Cases[0].Events[0].Reason = "x" },
			"a number mismatch": func(s *peerv1.CaseBookSnapshot) { s.Cases[0].Number = "x" },
			"an outbox case": func(s *peerv1.CaseBookSnapshot) {
				s.Outbox = append(s.Outbox, &peerv1.OutboxEntry{DestOffice: county, CaseNumber: "x", UptoSeq: 1})
			},
			"an outbox office": func(s *peerv1.CaseBookSnapshot) {
				s.Outbox = append(s.Outbox, &peerv1.OutboxEntry{DestOffice: "x", CaseNumber: n, UptoSeq: 1})
			},
			"an outbox beyond log": func(s *peerv1.CaseBookSnapshot) {
				s.Outbox = append(s.Outbox, &peerv1.OutboxEntry{DestOffice: county, CaseNumber: n, UptoSeq: 999})
			},
			"an outbox entry twice": func(s *peerv1.CaseBookSnapshot) {
				e := &peerv1.OutboxEntry{DestOffice: county, CaseNumber: n, UptoSeq: 1}
				s.Outbox = append(s.Outbox, e, e)
			},
		} {
			t.Run(name, func(t *testing.T) {
				s := proto.CloneOf(good)
				change(s)
				b := w.books[township]
				before := b.Snapshot()
				wantErr(t, b.Restore(s), ErrInvalidSnapshot)
				if !proto.Equal(before, b.Snapshot()) {
					t.Error("a bad snapshot changed the book")
				}
			})
		}
	})
}

func TestBookConcurrentReaders(t *testing.T) {
	w := newWorld(t)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				for _, b := range w.books {
					for _, c := range b.List(ListFilter{}) {
						b.Events(c.GetNumber())
						b.Case(c.GetNumber())
					}
					b.Outbox()
					b.NeedsAction()
					b.Snapshot()
					b.NextSeq(fmt.Sprint(20250303 + i%2))
				}
			}
		}()
	}
	for range 5 {
		n := w.file(village, tobacco, eastAgent, tobaccoMaterials[:4]...)
		w.settle()
		w.mustDo(county, n, ActionAccept, nil, countyClerk)
		w.settle()
	}
	close(stop)
	wg.Wait()
}

func FuzzApply(f *testing.F) {
	w := newWorld(f)
	n := w.file(village, tobacco, eastAgent, tobaccoMaterials[:4]...)
	w.autos()
	vb := w.books[village]
	m, _ := vb.Message(vb.Outbox()[0])
	seeds := []*peerv1.CaseCommand{
		{Op: &peerv1.CaseCommand_Append{Append: &peerv1.AppendCaseEvents{CaseNumber: n, Events: vb.Events(n)}}},
		{Op: &peerv1.CaseCommand_Receive{Receive: &peerv1.ReceiveCaseMessages{Messages: []*peerv1.CaseMessage{m}}}},
		{Op: &peerv1.CaseCommand_Ack{Ack: &peerv1.AckOutbox{Acks: vb.Outbox()}}},
		{Op: &peerv1.CaseCommand_Quarantine{Quarantine: &peerv1.QuarantineOutbox{Entries: []*peerv1.QuarantinedEntry{{Entry: vb.Outbox()[0], Reason: "too large"}}}}},
		{},
	}
	for _, s := range seeds {
		b, err := proto.Marshal(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint8(0))
	}
	offices := []string{county, township, village, village2}
	f.Fuzz(func(t *testing.T, data []byte, which uint8) {
		cmd := &peerv1.CaseCommand{}
		if err := proto.Unmarshal(data, cmd); err != nil {
			return
		}
		office := offices[int(which)%len(offices)]
		b := NewBook(office)
		if office == village {
			b.Restore(vb.Snapshot())
		}
		before := b.Snapshot()
		out, err := b.Apply(cmd, w.reg)
		if err != nil && !proto.Equal(before, b.Snapshot()) {
			t.Fatalf("Apply failed (%v) and changed the book", err)
		}
		if err == nil && out == nil {
			t.Fatal("Apply succeeded without a result")
		}
		// Whatever was stored holds together.
		for _, c := range b.List(ListFilter{}) {
			if err := VerifyChain(c.GetNumber(), b.Events(c.GetNumber())); err != nil {
				t.Fatalf("stored an unverifiable log: %v", err)
			}
		}
		if err := NewBook(office).Restore(b.Snapshot()); err != nil {
			t.Fatalf("the book's own snapshot does not restore: %v", err)
		}
	})
}

func TestBookQuarantine(t *testing.T) {
	w := newWorld(t)
	vb := w.books[village]
	n := w.file(village, tobacco, eastAgent, tobaccoMaterials[:4]...)
	entry := vb.Outbox()[0] // the mirror of the filing
	quarantine := func(e *peerv1.OutboxEntry) *peerv1.QuarantineOutbox {
		t.Helper()
		out, err := vb.Apply(&peerv1.CaseCommand{Op: &peerv1.CaseCommand_Quarantine{Quarantine: &peerv1.QuarantineOutbox{
			Entries: []*peerv1.QuarantinedEntry{{Entry: e, Reason: "too large", AtUnixNano: 42}}}}}, w.reg)
		if err != nil {
			t.Fatal(err)
		}
		return out.(*peerv1.QuarantineOutbox)
	}
	// An entry raised since it was looked at stays: the new message may go.
	if got := quarantine(&peerv1.OutboxEntry{DestOffice: township, CaseNumber: n, UptoSeq: 7}); len(got.GetEntries()) != 0 {
		t.Fatalf("quarantined an entry not queued: %v", got)
	}
	if got := quarantine(entry); len(got.GetEntries()) != 1 {
		t.Fatalf("quarantine = %v", got)
	}
	if vb.OutboxLen() != 0 || len(vb.Quarantined()) != 1 || vb.Quarantined()[0].GetReason() != "too large" {
		t.Fatalf("outbox %v, quarantine %v", vb.Outbox(), vb.Quarantined())
	}

	// It survives a snapshot.
	rb := NewBook(village)
	if err := rb.Restore(vb.Snapshot()); err != nil {
		t.Fatal(err)
	}
	if q := rb.Quarantined(); len(q) != 1 || !proto.Equal(q[0], vb.Quarantined()[0]) {
		t.Fatalf("restored quarantine %v", q)
	}

	// A new event of the case queues it again, with the whole log.
	w.autos() // forwarded to the township: a handoff
	got := vb.Outbox()
	if len(got) != 1 || !got[0].GetHandoff() || got[0].GetUptoSeq() != 2 || len(vb.Quarantined()) != 0 {
		t.Fatalf("after a new event: outbox %v, quarantine %v", got, vb.Quarantined())
	}
}
