package casebook

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"time"

	"github.com/dgraph-io/badger/v4"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/registry"
	"github.com/yizhan-gov/yizhan/supervision"
)

// Supervision cards (package supervision has the rules). A card is kept
// once per case and rule (book/k/<number>\0<rule>): the rules that an
// event breaks are evaluated as the event is stored (Save), the
// time-driven ones when a sweep's EvaluateCards command is applied, each
// on the case as it stands at that point of the log, so every node of the
// office issues the same cards whichever leader proposed them. Each card
// adds to its rule's counter (supervision.CardOutcome) at its time and
// responsible office.

func cardKey(number string, r yizhanv1.CardRule) []byte {
	return key(pCard, number, be32(uint32(r)))
}

func cardByTimeKey(c *yizhanv1.Card) []byte {
	return key(pCardByTime, be64(uint64(max(c.GetAt().AsTime().UnixNano(), 0))), c.GetCaseNumber(), be32(uint32(c.GetRule())))
}

// cardIndexValue lets a listing filter without reading the card.
func cardIndexValue(c *yizhanv1.Card) []byte {
	w := byte('0')
	if c.GetWithdrawn() {
		w = '1'
	}
	return key("", c.GetOfficeCode(), c.GetDepartmentCode(), string([]byte{w}))
}

// issueCard keeps card c unless the case has a card of its rule already.
// A card withdrawn (cardsOnEvents) is none: it was given from a mirror
// behind its office and no longer counts, so the card the case earns
// after (a decision made late after all) takes its place.
func (o *overlay) issueCard(c *yizhanv1.Card) {
	k := cardKey(c.GetCaseNumber(), c.GetRule())
	held := &yizhanv1.Card{}
	if o.getProto(k, held) {
		if !held.GetWithdrawn() {
			return
		}
		o.del(cardByTimeKey(held))
	}
	o.setProto(k, c)
	o.set(cardByTimeKey(c), cardIndexValue(c))
	o.countCard(c, true)
}

// countCard adds card c to its rule's counters, or takes it off.
func (o *overlay) countCard(c *yizhanv1.Card, add bool) {
	for _, period := range periodsOf(c.GetAt().AsTime()) {
		k := statKey(period, c.GetOfficeCode(), c.GetItemCode(), c.GetDepartmentCode(), supervision.CardOutcome(c.GetRule()))
		if add {
			o.addUint(k, 1)
		} else if n := o.getUint(k); n > 1 {
			o.set(k, be64(n-1))
		} else {
			o.del(k)
		}
	}
}

// cardsOnEvents issues the cards the added events earn, and withdraws a
// time-driven card that the log, as it now stands, shows was issued from
// a mirror behind its office (cardEarned): the case had been decided,
// withdrawn, suspended, accepted or delivered in time, or its step ended
// in time, before the card was issued, and the county heard of it only
// after.
func (o *overlay) cardsOnEvents(c *yizhanv1.Case, events []*yizhanv1.CaseEvent, added int) {
	for i := len(events) - added; i < len(events); i++ {
		log := events[:i+1]
		for _, card := range supervision.OnEvent(c, log, o.reg) {
			card.IssuedAt = events[i].GetAt()
			o.issueCard(card)
		}
		if i == 0 {
			continue // a new case holds no cards
		}
		for _, rule := range withdrawnWhenLate {
			k := cardKey(c.GetNumber(), rule)
			card := &yizhanv1.Card{}
			if !o.getProto(k, card) || card.GetWithdrawn() || cardEarned(card, log, o.reg) {
				continue
			}
			o.withdrawCard(k, card, "据其后上报的办件记录，发牌时该办件并无“"+supervision.RuleName(rule)+"”情形，系据未及时上报的信息发出，予以撤销")
		}
	}
}

// withdrawnWhenLate are the time-driven rules whose cards a sweep may
// issue from a mirror that had not yet heard of what made them
// undeserved (cardEarned). A warning (DUE_SOON) is left as it was.
var withdrawnWhenLate = []yizhanv1.CardRule{
	yizhanv1.CardRule_CARD_RULE_OVERDUE,
	yizhanv1.CardRule_CARD_RULE_NOT_ACCEPTED_IN_TIME,
	yizhanv1.CardRule_CARD_RULE_NOT_DELIVERED_IN_TIME,
	yizhanv1.CardRule_CARD_RULE_SUSPENSION_OVER_LIMIT,
	yizhanv1.CardRule_CARD_RULE_STEP_LATE,
}

// cardEarned reports whether the case's log, as far as it goes up to the
// card's issue time (the events at or before it, some of which may have
// come after the card), shows the card's condition then: overdue
// (decided late, or open past the promised due time), §32's first answer
// late or missing, §44's delivery late or missing, the suspension past
// its procedure's own limit, a step past its own limit (open, or ended
// late). A card issued by an event (a decision made late) is earned by
// that event.
func cardEarned(card *yizhanv1.Card, log []*yizhanv1.CaseEvent, reg casework.Registry) bool {
	at := card.GetIssuedAt().AsTime()
	n := 0
	for n < len(log) && !log[n].GetAt().AsTime().After(at) {
		n++
	}
	before := log[:n]
	c, err := casework.Fold(before)
	if err != nil || len(before) == 0 {
		return true // nothing to judge it by: it stays
	}
	switch card.GetRule() {
	case yizhanv1.CardRule_CARD_RULE_OVERDUE:
		return casework.Clocks(c, before, reg, at).GetOverdue()
	case yizhanv1.CardRule_CARD_RULE_NOT_ACCEPTED_IN_TIME:
		return casework.Clocks(c, before, reg, at).GetAcceptanceOverdue()
	case yizhanv1.CardRule_CARD_RULE_NOT_DELIVERED_IN_TIME:
		return casework.Clocks(c, before, reg, at).GetDeliveryOverdue()
	case yizhanv1.CardRule_CARD_RULE_SUSPENSION_OVER_LIMIT:
		s, ok := casework.LastSuspension(before, reg)
		return ok && s.Over(at)
	case yizhanv1.CardRule_CARD_RULE_STEP_LATE:
		if s, ok := supervision.OpenStep(c, before, reg); ok && at.After(s.Due) {
			return true
		}
		for i := 2; i <= len(before); i++ {
			if supervision.StepEndedLate(c, before[:i], reg) {
				return true // a step ended late before it, or by it
			}
		}
		return false
	}
	return true
}

// evaluateCards applies a sweep's EvaluateCards at the command's time.
func (o *overlay) evaluateCards(cmd *peerv1.EvaluateCards) {
	at := time.Unix(0, o.at)
	p := supervision.Policy{WarningDays: int(cmd.GetWarningDays())}
	for _, ch := range cmd.GetChecks() {
		if held := (&yizhanv1.Card{}); o.getProto(cardKey(ch.GetCaseNumber(), ch.GetRule()), held) && !held.GetWithdrawn() {
			continue
		}
		var card *yizhanv1.Card
		switch ch.GetRule() {
		case yizhanv1.CardRule_CARD_RULE_FOLLOW_UP_LATE, yizhanv1.CardRule_CARD_RULE_ORDER_LATE:
			card = o.lateCard(ch.GetCaseNumber(), ch.GetRule(), at)
		default:
			if l := o.load(ch.GetCaseNumber()); l.c != nil {
				card = supervision.Due(ch.GetRule(), l.c, l.events, o.reg, at, p)
			}
		}
		if card != nil {
			card.IssuedAt = timestamppb.New(at)
			o.issueCard(card)
			if ch.GetRule() == yizhanv1.CardRule_CARD_RULE_NOT_ACCEPTED_IN_TIME {
				// An online filing left waiting at its pre-check goes up
				// with its card: the offices above supervise it too.
				casework.MailLateFilingUp(o, o.b.office, ch.GetCaseNumber(), o.load(ch.GetCaseNumber()).events)
			}
		}
	}
}

// MaxCardChecks bounds the checks of one EvaluateCards command (each
// card writes five keys: it fits the command limits).
const MaxCardChecks = 400

// CardsDue finds the cases whose time-driven rules give a card at now
// that the book does not hold yet, at most limit: the running cases due
// by the warning horizon, the filings waiting past the §32 deadline and
// the decisions waiting for delivery past §44's,
// found through the queue by due time, and the cases in a step past its
// own limit (book/is/), each evaluated (supervision.Due),
// then the open follow-ups and orders past their due time (lateRecords).
// The leader proposes them as EvaluateCards; a case the book does not own
// (a mirror) is evaluated too, so that an office cut off does not hide a
// late case from the offices above it.
func (b *Book) CardsDue(now time.Time, reg casework.Registry, p supervision.Policy, limit int) ([]*peerv1.CardCheck, error) {
	warn := p.WarningDays
	if warn <= 0 {
		warn = supervision.DefaultWarningDays
	}
	horizon := uint64(max(reg.AddWorkingDays(now, warn).Unix(), 0))
	// A filing is late once now is past the end of the fifth working day
	// after it: every filing before the day 5 working days ago, at most.
	filedBy := uint64(max(now.AddDate(0, 0, -supervision.AcceptanceDays).Unix(), 0))
	var out []*peerv1.CardCheck
	gen := b.generation.Load() // the book the view reads, for noteDamage
	err := b.db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix = []byte(pQueueByDue)
		it := txn.NewIterator(opts)
		defer it.Close()
		check := func(number string, rules ...yizhanv1.CardRule) error {
			var c *yizhanv1.Case
			var events []*yizhanv1.CaseEvent
			for _, r := range rules {
				if held, err := holdsCard(txn, number, r); err != nil {
					return err
				} else if held {
					continue
				}
				if c == nil {
					c = &yizhanv1.Case{}
					if ok, err := getProto(txn, caseKey(number), c); err != nil || !ok {
						return err
					}
				}
				if r == yizhanv1.CardRule_CARD_RULE_SUSPENSION_OVER_LIMIT && !c.GetSuspended() {
					continue // the common case: no need of its events
				}
				if events == nil {
					var err error
					if events, err = loadWhole(txn, number, c); err != nil {
						if b.noteDamage(gen, err) {
							return nil // passed over, not silently: logged once and counted
						}
						return err
					}
				}
				if supervision.Due(r, c, events, reg, now, p) != nil {
					out = append(out, &peerv1.CardCheck{CaseNumber: number, Rule: r})
				}
			}
			return nil
		}
		it.Rewind()
		for it.Valid() && len(out) < limit {
			k := it.Item().Key()
			rest := k[len(pQueueByDue):]
			i := bytes.IndexByte(rest, 0)
			if i < 0 || len(rest) < i+1+8 {
				it.Next()
				continue
			}
			owner := append([]byte(nil), rest[:i]...)
			rank := binary.BigEndian.Uint64(rest[i+1:])
			number := string(rest[i+1+8:])
			switch {
			case rank < notRunning && rank <= horizon:
				// A case with its red card needs no warning any more; one
				// suspended may be past its procedure's limit (ranked by
				// it when it comes first: queueKeyOf).
				rules := []yizhanv1.CardRule{yizhanv1.CardRule_CARD_RULE_SUSPENSION_OVER_LIMIT}
				if held, err := holdsCard(txn, number, yizhanv1.CardRule_CARD_RULE_OVERDUE); err != nil {
					return err
				} else if !held {
					rules = append(rules, yizhanv1.CardRule_CARD_RULE_OVERDUE, yizhanv1.CardRule_CARD_RULE_DUE_SOON)
				}
				if err := check(number, rules...); err != nil {
					return err
				}
				it.Next()
			case rank < notRunning:
				it.Seek(key(pQueueByDue, string(owner), be64(notRunning)))
			case rank-notRunning <= filedBy:
				v, err := it.Item().ValueCopy(nil)
				if err != nil {
					return err
				}
				if len(v) >= 4 {
					switch yizhanv1.CaseState(binary.BigEndian.Uint32(v)) {
					case yizhanv1.CaseState_CASE_STATE_FILED, yizhanv1.CaseState_CASE_STATE_PRECHECK:
						if err := check(number, yizhanv1.CardRule_CARD_RULE_NOT_ACCEPTED_IN_TIME); err != nil {
							return err
						}
					case yizhanv1.CaseState_CASE_STATE_APPROVED, yizhanv1.CaseState_CASE_STATE_DENIED,
						yizhanv1.CaseState_CASE_STATE_CERTIFIED, yizhanv1.CaseState_CASE_STATE_REFUSED:
						// Filed before a decision 10 working days ago: within
						// the same cut-off.
						if err := check(number, yizhanv1.CardRule_CARD_RULE_NOT_DELIVERED_IN_TIME); err != nil {
							return err
						}
					}
				}
				it.Next()
			default:
				it.Seek(append(key(pQueueByDue, string(owner)), 0xff))
			}
		}
		// The steps past their own limit, not ended yet (book/is/ up to now).
		steps := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(pStepDue)})
		defer steps.Close()
		until := key(pStepDue, be64(uint64(max(now.Unix(), 0))))
		for steps.Rewind(); steps.Valid() && len(out) < limit; steps.Next() {
			k := steps.Item().Key()
			if bytes.Compare(k, until) >= 0 {
				break
			}
			if len(k) < len(pStepDue)+8 {
				continue
			}
			if err := check(string(k[len(pStepDue)+8:]), yizhanv1.CardRule_CARD_RULE_STEP_LATE); err != nil {
				return err
			}
		}
		var err error
		out, err = lateRecords(txn, now, limit, out)
		return err
	})
	return out, err
}

// holdsCard reports whether the book holds a card of rule r on case
// number that stands (not withdrawn: one withdrawn is replaced by the
// card the case earns after, issueCard).
func holdsCard(txn *badger.Txn, number string, r yizhanv1.CardRule) (bool, error) {
	c := &yizhanv1.Card{}
	ok, err := getProto(txn, cardKey(number, r), c)
	return ok && !c.GetWithdrawn(), err
}

// CardQuery selects cards; empty fields select all.
type CardQuery struct {
	Office     string // the responsible office
	Subtree    bool   // and those below it
	From, To   time.Time
	Colour     yizhanv1.CardColour
	Rule       yizhanv1.CardRule
	Department string
	CaseNumber string
	PageSize   int
	PageToken  string
}

// Cards lists the cards the query selects, newest first.
func (b *Book) Cards(q CardQuery) ([]*yizhanv1.Card, string, error) {
	if q.CaseNumber != "" {
		var out []*yizhanv1.Card
		err := b.db.View(func(txn *badger.Txn) error {
			return eachKey(txn, key(pCard, q.CaseNumber, ""), func(_, v []byte) error {
				c := &yizhanv1.Card{}
				if err := proto.Unmarshal(v, c); err != nil {
					return err
				}
				if cardMatches(c, q) {
					out = append(out, c)
				}
				return nil
			})
		})
		return out, "", err
	}
	var (
		out  []*yizhanv1.Card
		next string
	)
	err := b.db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Reverse = true
		opts.Prefix = []byte(pCardByTime)
		it := txn.NewIterator(opts)
		defer it.Close()
		start := append([]byte(pCardByTime), 0xff)
		if !q.To.IsZero() {
			start = key(pCardByTime, be64(uint64(max(q.To.UnixNano(), 0))))
		}
		if q.PageToken != "" {
			pos, err := base64.RawURLEncoding.DecodeString(q.PageToken)
			if err != nil || !bytes.HasPrefix(pos, []byte(pCardByTime)) {
				return ErrBadPageToken
			}
			start = pos
		}
		for it.Seek(start); it.Valid(); it.Next() {
			k := it.Item().Key()
			if q.PageToken != "" && bytes.Equal(k, start) {
				continue
			}
			if len(k) < len(pCardByTime)+8 {
				continue
			}
			at := int64(binary.BigEndian.Uint64(k[len(pCardByTime):]))
			if !q.From.IsZero() && at < q.From.UnixNano() {
				break
			}
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			parts := bytes.SplitN(v, []byte{0}, 3)
			if len(parts) != 3 || !q.holds(string(parts[0])) ||
				(q.Department != "" && string(parts[1]) != q.Department) {
				continue
			}
			if len(out) == q.PageSize {
				next = base64.RawURLEncoding.EncodeToString(cardByTimeKey(out[len(out)-1]))
				break
			}
			rest := k[len(pCardByTime)+8:]
			i := bytes.IndexByte(rest, 0)
			if i < 0 || len(rest) != i+1+4 {
				continue
			}
			c := &yizhanv1.Card{}
			if ok, err := getProto(txn, cardKey(string(rest[:i]), yizhanv1.CardRule(binary.BigEndian.Uint32(rest[i+1:]))), c); err != nil {
				return err
			} else if !ok || !cardMatches(c, q) {
				continue
			}
			out = append(out, c)
		}
		return nil
	})
	return out, next, err
}

// holds reports whether the query selects the cards of office.
func (q CardQuery) holds(office string) bool {
	return q.Office == "" || office == q.Office || q.Subtree && registry.IsAncestorOrSelf(q.Office, office)
}

func cardMatches(c *yizhanv1.Card, q CardQuery) bool {
	switch {
	case !q.holds(c.GetOfficeCode()),
		q.Colour != yizhanv1.CardColour_CARD_COLOUR_UNSPECIFIED && c.GetColour() != q.Colour,
		q.Rule != yizhanv1.CardRule_CARD_RULE_UNSPECIFIED && c.GetRule() != q.Rule,
		q.Department != "" && c.GetDepartmentCode() != q.Department,
		!q.From.IsZero() && c.GetAt().AsTime().Before(q.From),
		!q.To.IsZero() && !c.GetAt().AsTime().Before(q.To):
		return false
	}
	return true
}
