package casebook

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"strings"
	"time"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/registry"
	"github.com/yizhan-gov/yizhan/supervision"
)

// The indexes, kept by Save in the command's own transaction.

// queueKeyOf is the case's key in the queue of its owner office, nil once
// it is over (casework.Final): book/iq/<owner>\0<state><dept>\0<rank>
// <number>. The rank orders the queue: the cases within their time limit
// (accepted, not decided: running, or suspended) first, by when they need
// someone: when they fall overdue (casework.OverdueFrom: a suspended
// case's due time once its pause has run to its limit, so that one left
// suspended past it is listed and carded as overdue), or, for a case
// suspended under a procedure with a limit of its own, when that limit
// is reached if it comes first (casework.LastSuspension: someone must
// resume it then, and the sweep cards it); then the others (not accepted
// yet, decided and waiting for delivery) by the time they were filed. The
// times are computed when the case changes, with the calendar of then (a
// calendar write places the open cases again: CalendarChanged). A listing of
// the overdue cases checks a suspended case's OverdueFrom itself.
func queueKeyOf(c *yizhanv1.Case, events []*yizhanv1.CaseEvent, reg casework.Registry) []byte {
	if casework.Final(c.GetState()) {
		return nil
	}
	var rank uint64
	if due, ok := casework.OverdueFrom(c, events, reg, c.GetUpdatedAt().AsTime()); ok {
		if sp, ok := casework.LastSuspension(events, reg); ok && c.GetSuspended() && sp.LimitDays > 0 && sp.Ended.IsZero() && sp.Due.Before(due) {
			due = sp.Due
		}
		rank = uint64(max(due.Unix(), 0))
	} else {
		rank = notRunning + uint64(max(c.GetFiledAt().AsTime().Unix(), 0))
	}
	return key(pQueue, c.GetOwnerOffice(), be32(uint32(c.GetState())), departmentOf(events), be64(rank), c.GetNumber())
}

// notRunning is added to the rank of the open cases outside a time limit
// (not accepted yet, decided and waiting for delivery): after any due
// time.
const notRunning = 1 << 62

// departmentOf is the lead department of the case's item version.
func departmentOf(events []*yizhanv1.CaseEvent) string {
	return events[0].GetFiling().GetDepartmentCode()
}

// byDueKeyOf is the key of the queue by due time that goes with a queue
// key (book/iq/), and its value: the state and department, so that a
// listing filters on them without reading the case.
func byDueKeyOf(queueKey []byte) (k, v []byte, ok bool) {
	rest := queueKey[len(pQueue):]
	i := bytes.IndexByte(rest, 0)
	if i < 0 {
		return nil, nil, false
	}
	owner, rest := rest[:i], rest[i+1:]
	if len(rest) < 4 {
		return nil, nil, false
	}
	j := bytes.IndexByte(rest[4:], 0)
	if j < 0 || len(rest) < 4+j+1+8 {
		return nil, nil, false
	}
	k = key(pQueueByDue, string(owner), rest[4+j+1:])
	return k, rest[:4+j], true
}

// indexQueue keeps the case's queue entries. A new case has none to
// replace (cases are never deleted, so no queue key outlives its case):
// its lookup, a miss in every level of the tree, is skipped.
func (o *overlay) indexQueue(number string, c *yizhanv1.Case, events []*yizhanv1.CaseEvent, isNew bool) {
	kq := key(pQueueKey, number)
	var old []byte
	if !isNew {
		old, _ = o.get(kq)
	}
	next := queueKeyOf(c, events, o.reg)
	if bytes.Equal(old, next) {
		return
	}
	if old != nil {
		o.del(old)
		if k, _, ok := byDueKeyOf(old); ok {
			o.del(k)
		}
	}
	if next == nil {
		o.del(kq)
		return
	}
	o.set(next, []byte(number))
	if k, v, ok := byDueKeyOf(next); ok {
		o.set(k, v)
	}
	o.set(kq, next)
}

// stepKeyOf is the case's key in the cases by the end of their open
// step's limit (book/is/), or nil when it is in no watched step
// (supervision.OpenStep): the sweep finds there the steps that ran past
// their limit before they ended (the 环节超时 card).
func stepKeyOf(c *yizhanv1.Case, events []*yizhanv1.CaseEvent, reg casework.Registry) []byte {
	s, ok := supervision.OpenStep(c, events, reg)
	if !ok {
		return nil
	}
	return key(pStepDue, be64(uint64(max(s.Due.Unix(), 0))), c.GetNumber())
}

// indexStep keeps the case's entry in the cases by their open step's end
// (stepKeyOf), and book/ks/ naming it, as indexQueue keeps the queue's.
func (o *overlay) indexStep(number string, c *yizhanv1.Case, events []*yizhanv1.CaseEvent, isNew bool) {
	ks := key(pStepKey, number)
	var old []byte
	if !isNew {
		old, _ = o.get(ks)
	}
	next := stepKeyOf(c, events, o.reg)
	if bytes.Equal(old, next) {
		return
	}
	if old != nil {
		o.del(old)
	}
	if next == nil {
		o.del(ks)
		return
	}
	o.set(next, nil)
	o.set(ks, next)
}

// touchedKey lists the case among those office appended to or was handed,
// by the time it was filed.
func touchedKey(office string, c *yizhanv1.Case) []byte {
	return key(pTouched, office, be64(uint64(max(c.GetFiledAt().AsTime().UnixNano(), 0))), c.GetNumber())
}

// indexTouched lists the case under each office that appends one of the
// added events or is handed it by one, once.
func (o *overlay) indexTouched(number string, c *yizhanv1.Case, events []*yizhanv1.CaseEvent, added int) {
	seen := map[string]bool{}
	for _, e := range events[:len(events)-added] {
		seen[e.GetOfficeCode()] = true
		if t := e.GetToOffice(); t != "" {
			seen[t] = true
		}
	}
	for _, e := range events[len(events)-added:] {
		for _, office := range []string{e.GetOfficeCode(), e.GetToOffice()} {
			if office != "" && !seen[office] {
				seen[office] = true
				o.set(touchedKey(office, c), []byte(number))
			}
		}
	}
}

// Applicant index kinds.
const (
	byIDNumber = 'i'
	byPhone    = 'p'
	byName     = 'n'
	// An organisation's unified social credit code, in clear: it is
	// public (published in the business registers), not personal data.
	byCreditCode = 'c'
)

// applicantKeys are the applicant's keys in the index: the ID number and
// the phone as keyed hashes (the index must not be a list of ID numbers
// in clear), the name as given.
func applicantKeys(a *yizhanv1.Applicant, number string, reg casework.Registry) [][]byte {
	return applicantKeysUnder(a, number, hashKey(reg))
}

// applicantKeysUnder are the applicant's keys hashed under hk (nil:
// plain SHA-256).
func applicantKeysUnder(a *yizhanv1.Applicant, number string, hk []byte) [][]byte {
	var out [][]byte
	if id := normalizeID(a.GetIdNumber()); id != "" {
		out = append(out, key(pApplicant, string(append([]byte{byIDNumber}, applicantHash(hk, "id", id)...)), number))
	}
	if p := a.GetPhone(); p != "" {
		out = append(out, key(pApplicant, string(append([]byte{byPhone}, applicantHash(hk, "phone", p)...)), number))
	}
	if n := strings.TrimSpace(a.GetName()); n != "" {
		out = append(out, key(pApplicant, string(byName)+n, number))
	}
	if c := strings.TrimSpace(a.GetCreditCode()); c != "" {
		out = append(out, key(pApplicant, string(byCreditCode)+c, number))
	}
	return out
}

func (o *overlay) indexApplicant(number string, a *yizhanv1.Applicant) {
	for _, k := range applicantKeys(a, number, o.reg) {
		o.set(k, []byte(number))
	}
}

// normalizeID is an ID number as it is indexed: upper case (the check
// character X), no spaces.
func normalizeID(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }

// hashKey is the key the applicant index is hashed under: the
// registry's first query-code key, the one every office has once the
// county made one, or none (plain SHA-256) in a registry without keys.
// A search tries each, so cases indexed before the key arrived are found.
func hashKey(reg casework.Registry) []byte {
	if kr, ok := reg.(interface{ QueryCodeKey(uint32) ([]byte, bool) }); ok {
		if k, ok := kr.QueryCodeKey(1); ok {
			return k
		}
	}
	return nil
}

// applicantHash is 16 bytes of HMAC-SHA256(key, "yizhan-applicant-v1" ‖
// kind ‖ value), or of plain SHA-256 without a key.
func applicantHash(k []byte, kind, value string) []byte {
	var sum []byte
	msg := []byte("yizhan-applicant-v1\x00" + kind + "\x00" + value)
	if k == nil {
		s := sha256.Sum256(msg)
		sum = s[:]
	} else {
		m := hmac.New(sha256.New, k)
		m.Write(msg)
		sum = m.Sum(nil)
	}
	return sum[:16]
}

// Statistics: counters per period (day, month, year) × office × item ×
// department × outcome (supervision's names), added to as each event is
// stored. The office is the one that appended the event (the accepting
// one for supervision.DecidedSameDay), the period its time in China
// Standard Time, the department the item's lead department.

// Period granularities of the counters.
const (
	Day   = 'd' // YYYYMMDD
	Month = 'm' // YYYYMM
	Year  = 'y' // YYYY
)

// periodsOf are the day, month and year of t in China Standard Time.
func periodsOf(t time.Time) [3]string {
	s := t.In(registry.CST).Format("20060102")
	return [3]string{string(rune(Day)) + s, string(rune(Month)) + s[:6], string(rune(Year)) + s[:4]}
}

// statKey is a counter's key.
func statKey(period, office, item, dept, outcome string) []byte {
	return key(pStat, period, office, item, dept, outcome)
}

// counter is an amount to add to an outcome's counter at an office.
type counter struct {
	office, outcome string
	n               uint64
}

// outcomesOf are the counters an event adds to. c is the case after the
// event, events its log up to the event.
func outcomesOf(e *yizhanv1.CaseEvent, c *yizhanv1.Case, events []*yizhanv1.CaseEvent, reg casework.Registry) []counter {
	one := func(outcome string) []counter { return []counter{{e.GetOfficeCode(), outcome, 1}} }
	switch e.GetType() {
	case yizhanv1.EventType_EVENT_TYPE_FILED:
		if e.GetFiling().GetPrecheck() {
			return nil // received once its pre-check takes it up
		}
		return one(supervision.Received)
	case yizhanv1.EventType_EVENT_TYPE_PRECHECKED:
		return one(supervision.Received)
	case yizhanv1.EventType_EVENT_TYPE_ACCEPTED:
		return one(supervision.Accepted)
	case yizhanv1.EventType_EVENT_TYPE_REFUSED:
		return one(supervision.Refused)
	case yizhanv1.EventType_EVENT_TYPE_WITHDRAWN:
		if e.GetCorrectionLapsed() {
			return []counter{{e.GetOfficeCode(), supervision.Withdrawn, 1}, {e.GetOfficeCode(), supervision.WithdrawnCorrectionLapsed, 1}}
		}
		return one(supervision.Withdrawn)
	case yizhanv1.EventType_EVENT_TYPE_DELIVERED:
		return one(supervision.Delivered)
	case yizhanv1.EventType_EVENT_TYPE_COMPLAINED:
		// At the office complained of, where its follow-up goes.
		return []counter{{supervision.JudgedOffice(c, events), supervision.Complained, 1}}
	case yizhanv1.EventType_EVENT_TYPE_RATED:
		// At the office the rating judges, where its 差评 follow-up goes.
		return []counter{{supervision.JudgedOffice(c, events), supervision.RatedOutcome(e.GetRating()), 1}}
	case yizhanv1.EventType_EVENT_TYPE_DECIDED:
		at := e.GetAt().AsTime()
		office := e.GetOfficeCode()
		out := []counter{{office, supervision.Decided, 1}}
		add := func(outcome string, n uint64) { out = append(out, counter{office, outcome, n}) }
		if e.GetApproved() {
			add(supervision.Approved, 1)
		} else {
			add(supervision.Denied, 1)
		}
		d := casework.Clocks(c, events, reg, at)
		if d.GetOverdue() {
			add(supervision.DecidedOverdue, 1)
		} else {
			add(supervision.DecidedInTime, 1)
		}
		f := events[0].GetFiling()
		if f.GetCaseKind() == yizhanv1.CaseKind_CASE_KIND_IMMEDIATE {
			add(supervision.DecidedImmediate, 1)
		} else {
			add(supervision.DecidedPromised, 1)
			add(supervision.StatutoryDays, uint64(max(f.GetStatutoryLimitDays(), 0)))
			add(supervision.PromisedDays, uint64(max(f.GetPromisedLimitDays(), 0)))
			if d.GetAcceptedAt() != nil {
				used := reg.WorkingDaysBetween(d.GetAcceptedAt().AsTime(), at) - int(d.GetPausedDays())
				add(supervision.WorkingDaysUsed, uint64(max(used, 0)))
			}
		}
		if a := acceptedBy(events); a != nil && sameDay(a.GetAt().AsTime(), at) {
			out = append(out, counter{a.GetOfficeCode(), supervision.DecidedSameDay, 1})
		}
		return out
	}
	return nil
}

// acceptedBy is the case's ACCEPTED event, nil before it.
func acceptedBy(events []*yizhanv1.CaseEvent) *yizhanv1.CaseEvent {
	for _, e := range events {
		if e.GetType() == yizhanv1.EventType_EVENT_TYPE_ACCEPTED {
			return e
		}
	}
	return nil
}

// sameDay reports whether a and b fall on one day in China Standard Time.
func sameDay(a, b time.Time) bool {
	return a.In(registry.CST).Format("20060102") == b.In(registry.CST).Format("20060102")
}

// count adds the added events to the counters and the daily series.
func (o *overlay) count(c *yizhanv1.Case, events []*yizhanv1.CaseEvent, added int) {
	first := len(events) - added
	dept := departmentOf(events)
	for i, e := range events[first:] {
		log := events[:first+i+1]
		counters := outcomesOf(e, c, log, o.reg)
		if len(counters) == 0 {
			continue
		}
		periods := periodsOf(e.GetAt().AsTime())
		for _, period := range periods {
			for _, n := range counters {
				if n.n == 0 {
					continue
				}
				o.addUint(statKey(period, n.office, c.GetItemCode(), dept, n.outcome), n.n)
			}
		}
		for _, n := range counters {
			switch n.outcome {
			case supervision.Accepted:
				o.addDaily(periods[0], n.office, dept, 0)
			case supervision.DecidedSameDay:
				o.addDaily(periods[0], n.office, dept, 1)
			}
		}
	}
}

// addUint adds n to the big-endian counter at k.
func (o *overlay) addUint(k []byte, n uint64) {
	o.set(k, be64(o.getUint(k)+n))
}

// The daily series: per day, the acceptances and same-day decisions of
// the whole book ("*"), of each office ("o" + code), each township with
// its villages ("t" + code: the county's own offices under the county's
// code) and each department ("d" + code), 8 bytes each, for the average
// of the daily same-day rate over a range, which the counters of months
// and years cannot give.
func dailyScopes(office, dept string) [4]string {
	return [4]string{"*", "o" + office, "t" + townshipOf(office), "d" + dept}
}

// townshipOf is the township an office belongs to (itself for a
// township), the county for the county.
func townshipOf(office string) string {
	if t, err := registry.TierOf(office); err == nil && t == yizhanv1.Tier_TIER_VILLAGE {
		return registry.ParentCode(office)
	}
	return office
}

// TownshipOf is the township whose row GroupingTownship counts office in.
func TownshipOf(office string) string { return townshipOf(office) }

func dailyKey(scope, day string) []byte { return key(pDaily, scope, day) }

// addDaily adds one to the day's acceptances (field 0) or same-day
// decisions (field 1) in each scope.
func (o *overlay) addDaily(day, office, dept string, field int) {
	for _, scope := range dailyScopes(office, dept) {
		k := dailyKey(scope, day)
		v, _ := o.get(k)
		next := make([]byte, 16)
		if len(v) == 16 {
			copy(next, v)
		}
		binary.BigEndian.PutUint64(next[field*8:], binary.BigEndian.Uint64(next[field*8:])+1)
		o.set(k, next)
	}
}

func decodeUint(v []byte) uint64 {
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}
