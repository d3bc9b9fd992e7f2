package casebook

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"slices"
	"strings"
	"time"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/registry"
)

// The indexes, kept by Save in the command's own transaction.

// queueKeyOf is the case's key in the queue of its owner office, nil once
// it is over (casework.Final): book/iq/<owner>\0<state><dept>\0<rank>
// <number>. The rank orders the queue: cases with a running clock first,
// by their promised due time; then the others (not accepted yet, paused,
// decided and waiting for delivery) by the time they were filed. The due
// time is computed when the case changes, with the calendar of then (a
// holiday added later moves it at the case's next event).
func queueKeyOf(c *yizhanv1.Case, events []*yizhanv1.CaseEvent, reg casework.Registry) []byte {
	if casework.Final(c.GetState()) {
		return nil
	}
	at := c.GetUpdatedAt().AsTime()
	d := casework.Clocks(c, events, reg, at)
	var rank uint64
	if d.GetRunning() {
		rank = uint64(max(d.GetPromisedDue().AsTime().Unix(), 0))
	} else {
		rank = notRunning + uint64(max(c.GetFiledAt().AsTime().Unix(), 0))
	}
	return key(pQueue, c.GetOwnerOffice(), be32(uint32(c.GetState())), departmentOf(events), be64(rank), c.GetNumber())
}

// notRunning is added to the rank of cases without a running clock: after
// any due time.
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

func (o *overlay) indexQueue(number string, c *yizhanv1.Case, events []*yizhanv1.CaseEvent) {
	kq := key(pQueueKey, number)
	old, _ := o.get(kq)
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
// department × outcome, added to as each event is stored. The office is
// the one that appended the event, the period its time in China Standard
// Time, the department the item's lead department.
const (
	StatReceived        = "received"          // FILED: a case taken in
	StatAccepted        = "accepted"          // 受理
	StatRefused         = "refused"           // 不予受理
	StatDecided         = "decided"           // 办结 (approved or denied)
	StatApproved        = "approved"          // decided: approved
	StatDenied          = "denied"            // decided: denied
	StatDecidedInTime   = "decided_in_time"   // decided by the promised due time
	StatDecidedOverdue  = "decided_overdue"   // decided after it
	StatStatutoryDays   = "statutory_days"    // sum over decided cases of the statutory limit
	StatPromisedDays    = "promised_days"     // sum over decided cases of the promised limit
	StatWorkingDaysUsed = "working_days_used" // sum over decided cases of working days from acceptance to decision
	StatWithdrawn       = "withdrawn"
	StatDelivered       = "delivered"
	StatComplained      = "complained"
	StatRatedPrefix     = "rated_" // + the rating's level: rated_very_satisfied, …
)

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

// outcomesOf are the counters an event adds to, with the amounts. c is
// the case after the event, events its log up to the event.
func outcomesOf(e *yizhanv1.CaseEvent, c *yizhanv1.Case, events []*yizhanv1.CaseEvent, reg casework.Registry) map[string]uint64 {
	switch e.GetType() {
	case yizhanv1.EventType_EVENT_TYPE_FILED:
		return map[string]uint64{StatReceived: 1}
	case yizhanv1.EventType_EVENT_TYPE_ACCEPTED:
		return map[string]uint64{StatAccepted: 1}
	case yizhanv1.EventType_EVENT_TYPE_REFUSED:
		return map[string]uint64{StatRefused: 1}
	case yizhanv1.EventType_EVENT_TYPE_WITHDRAWN:
		return map[string]uint64{StatWithdrawn: 1}
	case yizhanv1.EventType_EVENT_TYPE_DELIVERED:
		return map[string]uint64{StatDelivered: 1}
	case yizhanv1.EventType_EVENT_TYPE_COMPLAINED:
		return map[string]uint64{StatComplained: 1}
	case yizhanv1.EventType_EVENT_TYPE_RATED:
		level := strings.ToLower(strings.TrimPrefix(e.GetRating().String(), "RATING_"))
		return map[string]uint64{StatRatedPrefix + level: 1}
	case yizhanv1.EventType_EVENT_TYPE_DECIDED:
		out := map[string]uint64{StatDecided: 1}
		if e.GetApproved() {
			out[StatApproved] = 1
		} else {
			out[StatDenied] = 1
		}
		at := e.GetAt().AsTime()
		d := casework.Clocks(c, events, reg, at)
		if d.GetOverdue() {
			out[StatDecidedOverdue] = 1
		} else {
			out[StatDecidedInTime] = 1
		}
		f := events[0].GetFiling()
		out[StatStatutoryDays] = uint64(max(f.GetStatutoryLimitDays(), 0))
		out[StatPromisedDays] = uint64(max(f.GetPromisedLimitDays(), 0))
		if d.GetAcceptedAt() != nil {
			out[StatWorkingDaysUsed] = uint64(max(reg.WorkingDaysBetween(d.GetAcceptedAt().AsTime(), at), 0))
		}
		return out
	}
	return nil
}

// count adds the added events to the counters.
func (o *overlay) count(c *yizhanv1.Case, events []*yizhanv1.CaseEvent, added int) {
	first := len(events) - added
	for i, e := range events[first:] {
		log := events[:first+i+1]
		outcomes := outcomesOf(e, c, log, o.reg)
		if len(outcomes) == 0 {
			continue
		}
		names := make([]string, 0, len(outcomes))
		for n := range outcomes {
			names = append(names, n)
		}
		slices.Sort(names) // map order must not reach the log of writes
		for _, period := range periodsOf(e.GetAt().AsTime()) {
			for _, n := range names {
				if outcomes[n] == 0 {
					continue
				}
				k := statKey(period, e.GetOfficeCode(), c.GetItemCode(), departmentOf(events), n)
				o.set(k, be64(o.getUint(k)+outcomes[n]))
			}
		}
	}
}

func decodeUint(v []byte) uint64 {
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}
