package casework

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// villageCase returns a Case as the village files it (tobacco, routed
// through the county), with owner and state set.
func villageCase(t *testing.T, reg *testReg, owner string, state yizhanv1.CaseState) *yizhanv1.Case {
	t.Helper()
	e, err := NewFiling(FileInput{
		Number: CaseNumber(village, t0, 1), QueryCode: "q", Item: reg.item(tobacco), Office: village,
		Applicant: applicant(), Actor: eastAgent, At: t0,
	}, reg)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Fold([]*yizhanv1.CaseEvent{e})
	if err != nil {
		t.Fatal(err)
	}
	c.OwnerOffice, c.State = owner, state
	return c
}

func TestPermitted(t *testing.T) {
	reg := newReg(t)
	at := t0.Add(time.Hour)
	const (
		tCertified = yizhanv1.EventType_EVENT_TYPE_CERTIFIED
		tDelivered = yizhanv1.EventType_EVENT_TYPE_DELIVERED
		tClosed    = yizhanv1.EventType_EVENT_TYPE_CLOSED
		tReviewed  = yizhanv1.EventType_EVENT_TYPE_REVIEWED
		tFee       = yizhanv1.EventType_EVENT_TYPE_FEE_ASSESSED
		tRated     = yizhanv1.EventType_EVENT_TYPE_RATED
		tComplain  = yizhanv1.EventType_EVENT_TYPE_COMPLAINED
		good       = yizhanv1.Rating_RATING_VERY_SATISFIED
	)
	tests := []struct {
		name     string
		owner    string
		state    yizhanv1.CaseState
		rated    bool // the case was rated before
		typ      yizhanv1.EventType
		office   string
		to       string
		actor    string
		rating   yizhanv1.Rating
		sentinel error // nil: permitted
		want     string
	}{
		{name: "village claims DECIDED for a county item", owner: village, state: stReviewed, typ: tDecided, office: village, sentinel: ErrPermissionDenied, want: "RIGHT_APPROVE"},
		{name: "village accepts a county item", owner: village, state: stFiled, typ: tAccepted, office: village, sentinel: ErrPermissionDenied, want: "RIGHT_ACCEPT"},
		{name: "county decides", owner: county, state: stReviewed, typ: tDecided, office: county},
		{name: "township reviews without the right", owner: township, state: stAccepted, typ: tReviewed, office: township, sentinel: ErrPermissionDenied, want: "RIGHT_REVIEW"},
		{name: "village certifies", owner: village, state: stApproved, typ: tCertified, office: village, sentinel: ErrPermissionDenied, want: "RIGHT_CERTIFY"},
		{name: "village delivers", owner: village, state: stCertified, typ: tDelivered, office: village},
		{name: "township delivers without the right", owner: township, state: stCertified, typ: tDelivered, office: township, sentinel: ErrPermissionDenied, want: "RIGHT_DELIVER"},
		{name: "township relays up", owner: township, state: stFiled, typ: tForwarded, office: township, to: county},
		{name: "township relays down", owner: township, state: stCertified, typ: tForwarded, office: township, to: village},
		{name: "township assesses a fee on the path", owner: township, state: stAccepted, typ: tFee, office: township},
		{name: "village closes", owner: village, state: stDelivered, typ: tClosed, office: village},
		{name: "an office off the path", owner: village2, state: stDelivered, typ: tClosed, office: village2, sentinel: ErrPermissionDenied, want: "not on the path"},
		{name: "an office that does not hold the case", owner: village, state: stFiled, typ: tAccepted, office: county, sentinel: ErrPermissionDenied, want: "held by office " + village},
		{name: "right office, wrong state", owner: county, state: stApproved, typ: tAccepted, office: county, sentinel: ErrFailedPrecondition, want: "case is CASE_STATE_APPROVED"},
		{name: "forward skipping the township", owner: village, state: stFiled, typ: tForwarded, office: village, to: county, sentinel: ErrFailedPrecondition, want: "neighbour"},
		{name: "forward off the path", owner: township, state: stCertified, typ: tForwarded, office: township, to: village2, sentinel: ErrFailedPrecondition, want: "neighbour"},
		{name: "forward to nobody", owner: village, state: stFiled, typ: tForwarded, office: village, sentinel: ErrFailedPrecondition},
		{name: "an unknown event type", owner: county, state: stAccepted, typ: 99, office: county, sentinel: ErrFailedPrecondition, want: "not known"},
		{name: "filed again", owner: county, state: stAccepted, typ: yizhanv1.EventType_EVENT_TYPE_FILED, office: county, sentinel: ErrFailedPrecondition, want: "filed already"},
		{name: "the delivering village records a rating", owner: village, state: stClosed, typ: tRated, office: village, actor: CitizenActor, rating: good},
		{name: "the county records a rating of a case it closed", owner: county, state: stClosed, typ: tRated, office: county, actor: CitizenActor, rating: yizhanv1.Rating_RATING_VERY_DISSATISFIED},
		{name: "a forged rating from a non-owner", owner: village, state: stClosed, typ: tRated, office: township, actor: CitizenActor, rating: good, sentinel: ErrPermissionDenied, want: "held by office " + village},
		{name: "a forged rating from the county", owner: village, state: stClosed, typ: tRated, office: county, actor: CitizenActor, rating: good, sentinel: ErrPermissionDenied, want: "held by office " + village},
		{name: "a rating off the path", owner: village2, state: stClosed, typ: tRated, office: village2, actor: CitizenActor, rating: good, sentinel: ErrPermissionDenied, want: "not on the path"},
		{name: "a rating by staff", owner: village, state: stClosed, typ: tRated, office: village, actor: "east.agent", rating: good, sentinel: ErrPermissionDenied, want: "only the citizen"},
		{name: "a rating without a rating", owner: village, state: stClosed, typ: tRated, office: village, actor: CitizenActor, sentinel: ErrConflict, want: "without a rating"},
		{name: "a rating out of range", owner: village, state: stClosed, typ: tRated, office: village, actor: CitizenActor, rating: 6, sentinel: ErrConflict},
		{name: "a rating before closing", owner: village, state: stDelivered, typ: tRated, office: village, actor: CitizenActor, rating: good, sentinel: ErrFailedPrecondition, want: "case is CASE_STATE_DELIVERED"},
		{name: "a rating of a withdrawn case", owner: county, state: stWithdrawn, typ: tRated, office: county, actor: CitizenActor, rating: good, sentinel: ErrFailedPrecondition, want: "case is CASE_STATE_WITHDRAWN"},
		{name: "a second rating", owner: village, state: stClosed, rated: true, typ: tRated, office: village, actor: CitizenActor, rating: good, sentinel: ErrFailedPrecondition, want: "rated already"},
		{name: "a complaint about a filed case", owner: village, state: stFiled, typ: tComplain, office: village, actor: CitizenActor},
		{name: "a complaint after closing", owner: village, state: stClosed, rated: true, typ: tComplain, office: village, actor: CitizenActor},
		{name: "a complaint after withdrawal", owner: county, state: stWithdrawn, typ: tComplain, office: county, actor: CitizenActor},
		{name: "a complaint from a non-owner", owner: county, state: stAccepted, typ: tComplain, office: township, actor: CitizenActor, sentinel: ErrPermissionDenied, want: "held by office " + county},
		{name: "a complaint by staff", owner: county, state: stAccepted, typ: tComplain, office: county, actor: "county.clerk", sentinel: ErrPermissionDenied, want: "only the citizen"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := villageCase(t, reg, tt.owner, tt.state)
			if tt.rated {
				before.Rating = yizhanv1.Rating_RATING_SATISFIED
			}
			e := &yizhanv1.CaseEvent{Seq: 2, Type: tt.typ, At: ts(at), OfficeCode: tt.office, ToOffice: tt.to, Approved: true, Reason: "x", Actor: tt.actor, Rating: tt.rating}
			err := Permitted(before, e, reg)
			if tt.sentinel == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			wantErr(t, err, tt.sentinel, tt.want)
		})
	}
}

func TestPermittedFiling(t *testing.T) {
	reg := newReg(t)
	filed := func() *yizhanv1.CaseEvent {
		e, err := NewFiling(FileInput{
			Number: CaseNumber(village, t0, 1), QueryCode: "q", Item: reg.item(tobacco), Office: village,
			Applicant: applicant(), Actor: eastAgent, At: t0,
		}, reg)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	if err := Permitted(nil, filed(), reg); err != nil {
		t.Fatalf("a good filing: %v", err)
	}
	tests := []struct {
		name     string
		change   func(*yizhanv1.CaseEvent)
		sentinel error
		want     string
	}{
		{name: "not a filing first", change: func(e *yizhanv1.CaseEvent) { e.Type = tAccepted }, sentinel: ErrNotFound},
		{name: "no filing", change: func(e *yizhanv1.CaseEvent) { e.Filing = nil }, sentinel: ErrConflict},
		{name: "filed for another origin", change: func(e *yizhanv1.CaseEvent) { e.OfficeCode = village2 }, sentinel: ErrPermissionDenied, want: "origin"},
		{name: "under another office's number", change: func(e *yizhanv1.CaseEvent) {
			e.Filing.Number = CaseNumber(village2, t0, 1)
		}, sentinel: ErrPermissionDenied, want: "own numbers"},
		{name: "by an office that may not take the item in", change: func(e *yizhanv1.CaseEvent) {
			e.OfficeCode, e.Filing.OriginOffice, e.Filing.Number = township, township, CaseNumber(township, t0, 1)
		}, sentinel: ErrPermissionDenied, want: "RIGHT_PROXY_FILE"},
		{name: "before the grant", change: func(e *yizhanv1.CaseEvent) { e.At = ts(regAt.Add(-time.Hour)) }, sentinel: ErrPermissionDenied},
		{name: "a fee of its own", change: func(e *yizhanv1.CaseEvent) { e.Filing.FeeCents = 1 }, sentinel: ErrPermissionDenied, want: "fee_cents"},
		{name: "a shorter statutory limit", change: func(e *yizhanv1.CaseEvent) { e.Filing.StatutoryLimitDays = 99 }, sentinel: ErrPermissionDenied, want: "statutory_limit_days"},
		{name: "an item version unknown here", change: func(e *yizhanv1.CaseEvent) { e.Filing.ItemVersion = 7 }, sentinel: ErrNotFound},
		{name: "a route off the path", change: func(e *yizhanv1.CaseEvent) { e.Filing.Route[4].OfficeCode = village2 }, sentinel: ErrPermissionDenied, want: "route"},
		{name: "a route without approval", change: func(e *yizhanv1.CaseEvent) { e.Filing.Route = e.Filing.Route[:1] }, sentinel: ErrPermissionDenied, want: "RIGHT_APPROVE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := filed()
			tt.change(e)
			wantErr(t, Permitted(nil, e, reg), tt.sentinel, tt.want)
		})
	}
}

// forge seals e after the log and returns the log with it.
func forge(log []*yizhanv1.CaseEvent, e *yizhanv1.CaseEvent) []*yizhanv1.CaseEvent {
	out := make([]*yizhanv1.CaseEvent, len(log), len(log)+1)
	for i, x := range log {
		out[i] = proto.CloneOf(x)
	}
	e.Seq = uint32(len(log) + 1)
	Seal(e, log[len(log)-1].GetHash())
	return append(out, e)
}

// wantRefusedNoTrace sends m to the book and checks the message is
// refused and that the book is as it was.
func wantRefusedNoTrace(t *testing.T, b *Book, reg Registry, m *peerv1.CaseMessage, want string) {
	t.Helper()
	before := b.Snapshot()
	r := receive(t, b, reg, m)
	if r.GetRefused() == "" {
		t.Fatalf("message accepted (have_seq %d), want it refused", r.GetHaveSeq())
	}
	if want != "" && !contains(r.GetRefused(), want) {
		t.Errorf("refused %q, want it to mention %q", r.GetRefused(), want)
	}
	if after := b.Snapshot(); !proto.Equal(before, after) {
		t.Errorf("a refused message changed the book")
	}
}

func TestReceiveRefusesForgeries(t *testing.T) {
	t.Run("village claiming DECIDED for a county item", func(t *testing.T) {
		w := newWorld(t)
		n := w.file(village, tobacco, eastAgent, tobaccoMaterials[:4]...)
		log := forge(w.books[village].Events(n), &yizhanv1.CaseEvent{
			Type: tDecided, At: ts(w.tick()), Actor: "east.agent", OfficeCode: village, Approved: true, Reason: "批了",
		})
		m := &peerv1.CaseMessage{CaseNumber: n, Events: log, FromOffice: village}
		wantRefusedNoTrace(t, w.books[township], w.reg, m, "RIGHT_APPROVE")
		if w.books[township].Len() != 0 || len(w.books[township].Outbox()) != 0 {
			t.Errorf("the township kept something of the forged case")
		}
		// The same village cannot append it to its own book either.
		_, err := w.books[village].Apply(&peerv1.CaseCommand{Op: &peerv1.CaseCommand_Append{Append: &peerv1.AppendCaseEvents{CaseNumber: n, Events: log[1:]}}}, w.reg)
		wantErr(t, err, ErrPermissionDenied, "RIGHT_APPROVE")
	})

	t.Run("an event under an expired grant", func(t *testing.T) {
		w := newWorld(t)
		w.reg.grant(&yizhanv1.Grant{ItemCode: tobacco, OfficeCode: township, Rights: []yizhanv1.Right{right.accept}, ValidUntil: ts(cst(2025, 3, 10, 0))})
		n := w.file(village, tobacco, eastAgent, tobaccoMaterials[:4]...)
		w.settle()
		log := forge(w.books[township].Events(n), &yizhanv1.CaseEvent{Type: tAccepted, At: ts(cst(2025, 3, 11, 9)), Actor: "town.clerk", OfficeCode: township})
		wantRefusedNoTrace(t, w.books[county], w.reg, &peerv1.CaseMessage{CaseNumber: n, Events: log, FromOffice: township}, "RIGHT_ACCEPT")
		// Signed off while the grant ran, it passes.
		log = forge(w.books[township].Events(n), &yizhanv1.CaseEvent{Type: tAccepted, At: ts(cst(2025, 3, 7, 9)), Actor: "town.clerk", OfficeCode: township})
		if r := receive(t, w.books[county], w.reg, &peerv1.CaseMessage{CaseNumber: n, Events: log, FromOffice: township}); r.GetRefused() != "" {
			t.Errorf("refused: %s", r.GetRefused())
		}
	})

	t.Run("an event under a revoked grant", func(t *testing.T) {
		w := newWorld(t)
		g := w.reg.grant(&yizhanv1.Grant{ItemCode: tobacco, OfficeCode: township, Rights: []yizhanv1.Right{right.accept}})
		n := w.file(village, tobacco, eastAgent, tobaccoMaterials[:4]...)
		w.settle()
		w.reg.revoke(g.GetId(), cst(2025, 3, 8, 12))
		log := forge(w.books[township].Events(n), &yizhanv1.CaseEvent{Type: tAccepted, At: ts(cst(2025, 3, 9, 9)), Actor: "town.clerk", OfficeCode: township})
		wantRefusedNoTrace(t, w.books[county], w.reg, &peerv1.CaseMessage{CaseNumber: n, Events: log, FromOffice: township}, "RIGHT_ACCEPT")
		// The township's own book refuses it too.
		_, err := w.books[township].Apply(&peerv1.CaseCommand{Op: &peerv1.CaseCommand_Append{Append: &peerv1.AppendCaseEvents{CaseNumber: n, Events: log[len(log)-1:]}}}, w.reg)
		wantErr(t, err, ErrPermissionDenied)
	})

	t.Run("a broken hash chain", func(t *testing.T) {
		w := newWorld(t)
		n := w.file(village, tobacco, eastAgent, tobaccoMaterials[:4]...)
		w.autos()
		log := w.books[village].Events(n)
		log[0].Filing.Applicant.Name = "冒名顶替"
		wantRefusedNoTrace(t, w.books[township], w.reg, &peerv1.CaseMessage{CaseNumber: n, Events: log, FromOffice: village, HandoffTo: township}, "hash")
		Seal(log[0], GenesisHash(n)) // resealed, the next event no longer follows it
		wantRefusedNoTrace(t, w.books[township], w.reg, &peerv1.CaseMessage{CaseNumber: n, Events: log, FromOffice: village, HandoffTo: township}, "prev_hash")
	})

	t.Run("a forged filing", func(t *testing.T) {
		w := newWorld(t)
		n := w.file(village, tobacco, eastAgent, tobaccoMaterials[:4]...)
		log := w.books[village].Events(n)
		log[0].Filing.PromisedLimitDays = 1
		Seal(log[0], GenesisHash(n))
		wantRefusedNoTrace(t, w.books[township], w.reg, &peerv1.CaseMessage{CaseNumber: n, Events: log, FromOffice: village}, "promised_limit_days")
	})

	t.Run("a divergent log", func(t *testing.T) {
		w := newWorld(t)
		n := w.file(village, tobacco, eastAgent, tobaccoMaterials[:4]...)
		w.deliver() // the township mirrors the filing
		other := forge(w.books[village].Events(n), &yizhanv1.CaseEvent{Type: tForwarded, At: ts(w.tick()), OfficeCode: village, ToOffice: township, Actor: SystemActor})
		if r := receive(t, w.books[township], w.reg, &peerv1.CaseMessage{CaseNumber: n, Events: other, FromOffice: village, HandoffTo: township}); r.GetRefused() != "" {
			t.Fatalf("refused: %s", r.GetRefused())
		}
		// A second history for the same case: same seq 2, another event.
		fork := forge(other[:1], &yizhanv1.CaseEvent{Type: tForwarded, At: ts(w.tick()), OfficeCode: village, ToOffice: township, Actor: "east.agent"})
		wantRefusedNoTrace(t, w.books[township], w.reg, &peerv1.CaseMessage{CaseNumber: n, Events: fork, FromOffice: village}, "held here at seq 2")
	})

	t.Run("acting on a case in transit", func(t *testing.T) {
		w := newWorld(t)
		n := w.file(village, tobacco, eastAgent, tobaccoMaterials[:4]...)
		w.autos()
		log := forge(w.books[village].Events(n), &yizhanv1.CaseEvent{Type: tForwarded, At: ts(w.tick()), OfficeCode: township, ToOffice: county, Actor: SystemActor})
		wantRefusedNoTrace(t, w.books[county], w.reg, &peerv1.CaseMessage{CaseNumber: n, Events: log, FromOffice: township, HandoffTo: county}, "in transit")
		// RECEIVED by someone else than the office it was handed to.
		log = forge(w.books[village].Events(n), &yizhanv1.CaseEvent{Type: yizhanv1.EventType_EVENT_TYPE_RECEIVED, At: ts(w.tick()), OfficeCode: county, Actor: SystemActor})
		wantRefusedNoTrace(t, w.books[county], w.reg, &peerv1.CaseMessage{CaseNumber: n, Events: log, FromOffice: township}, "in transit")
	})

	t.Run("ratings after closing: by a non-owner, and a second one", func(t *testing.T) {
		w := newWorld(t)
		n := w.file(village, tobacco, eastAgent, tobaccoMaterials[:4]...)
		w.settle()
		for _, s := range []step{sAccept, sReview, sApprove, sCertify} {
			w.mustDo(county, n, s.act, s.in, s.actor)
		}
		w.settle()
		w.mustDo(village, n, ActionDeliver, nil, eastAgent)
		w.settle()
		if c, _ := w.books[county].Case(n); c.GetState() != stClosed || c.GetOwnerOffice() != village {
			t.Fatalf("the county sees %s owned by %s", c.GetState(), c.GetOwnerOffice())
		}
		// The township, which relayed the case, claims the citizen's rating.
		rating := func(office string) *yizhanv1.CaseEvent {
			return &yizhanv1.CaseEvent{Type: yizhanv1.EventType_EVENT_TYPE_RATED, At: ts(w.tick()), Actor: CitizenActor, OfficeCode: office, Rating: yizhanv1.Rating_RATING_VERY_DISSATISFIED, Reason: "伪造"}
		}
		log := forge(w.books[township].Events(n), rating(township))
		wantRefusedNoTrace(t, w.books[county], w.reg, &peerv1.CaseMessage{CaseNumber: n, Events: log, FromOffice: township}, "held by office "+village)
		// The village's real rating, then a second one.
		w.mustDo(village, n, sRate.act, sRate.in, sRate.actor)
		w.settle()
		log = forge(w.books[village].Events(n), rating(village))
		wantRefusedNoTrace(t, w.books[township], w.reg, &peerv1.CaseMessage{CaseNumber: n, Events: log, FromOffice: village}, "rated already")
		if c, _ := w.books[county].Case(n); c.GetRating() != sRate.in.GetRating() {
			t.Errorf("the county holds rating %s, want %s", c.GetRating(), sRate.in.GetRating())
		}
	})

	t.Run("a case that does not pass through the office", func(t *testing.T) {
		w := newWorld(t)
		n := w.file(village, tobacco, eastAgent, tobaccoMaterials[:4]...)
		wantRefusedNoTrace(t, w.books[village2], w.reg, &peerv1.CaseMessage{CaseNumber: n, Events: w.books[village].Events(n), FromOffice: village}, "does not pass through")
	})

	t.Run("a handoff to another office", func(t *testing.T) {
		w := newWorld(t)
		n := w.file(village, tobacco, eastAgent, tobaccoMaterials[:4]...)
		w.autos()
		wantRefusedNoTrace(t, w.books[county], w.reg, &peerv1.CaseMessage{CaseNumber: n, Events: w.books[village].Events(n), FromOffice: village, HandoffTo: township}, "hands the case to")
	})
}

func TestReceiveReplayedOldMessage(t *testing.T) {
	w := newWorld(t)
	n := w.file(village, tobacco, eastAgent, tobaccoMaterials[:4]...)
	w.autos()
	first := &peerv1.CaseMessage{CaseNumber: n, Events: w.books[village].Events(n), FromOffice: village, HandoffTo: township}
	w.settle()
	tb := w.books[township]
	held := len(tb.Events(n))
	if held < 3 {
		t.Fatalf("the township holds %d events", held)
	}
	before := tb.Snapshot()
	for name, m := range map[string]*peerv1.CaseMessage{
		"the old handoff":  first,
		"the filing alone": {CaseNumber: n, Events: first.GetEvents()[:1], FromOffice: village},
		"what it holds":    {CaseNumber: n, Events: tb.Events(n), FromOffice: village},
	} {
		t.Run(name, func(t *testing.T) {
			r := receive(t, tb, w.reg, m)
			if r.GetRefused() != "" || r.GetHaveSeq() != uint32(held) {
				t.Errorf("receipt %v, want have_seq %d", r, held)
			}
			if after := tb.Snapshot(); !proto.Equal(before, after) {
				t.Errorf("a replayed message changed the book")
			}
		})
	}
	c, _ := tb.Case(n)
	if c.GetOwnerOffice() != county {
		t.Errorf("the replayed handoff gave the case back to %s", c.GetOwnerOffice())
	}
}
