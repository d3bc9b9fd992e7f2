package casebook

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/registry"
)

// ErrBadPageToken is a page token this book did not give out.
var ErrBadPageToken = errors.New("casebook: not a page token of this listing")

// MaxPageSize bounds a page of any listing.
const MaxPageSize = 1000

func pageSize(n int) int {
	if n <= 0 || n > MaxPageSize {
		return min(max(n, 50), MaxPageSize)
	}
	return n
}

// QueueQuery selects from an office's queue: the cases it owns that are
// not over, those with a running clock first by their promised due time,
// then the others by the time they were filed.
type QueueQuery struct {
	Office     string             // the owner; required
	State      yizhanv1.CaseState // unset: every open state
	Department string             // the item's lead department; "" every one
	ItemCode   string
	// OverdueAt, when set, keeps the cases whose clock runs and whose
	// promised due time is before it (a suspended case's once its pause
	// has run to its limit: casework.OverdueFrom, with Registry).
	OverdueAt time.Time
	Registry  casework.Registry // required with OverdueAt
	PageSize  int
	PageToken string
}

// queueEntry is one key of the queue, parsed.
type queueEntry struct {
	rank   uint64
	number string
}

func (e queueEntry) token() string { return pageToken(queuePages, append(be64(e.rank), e.number...)) }

func parseQueueToken(t string) (queueEntry, error) {
	b, err := parsePageToken(queuePages, t)
	if err != nil {
		return queueEntry{}, err
	}
	return queueEntry{rank: binary.BigEndian.Uint64(b), number: string(b[8:])}, nil
}

// The listings whose pages a token goes on from: a token names its
// listing, so that one listing's is not read as a position in another's.
const (
	queuePages     byte = 'q'
	historyPages   byte = 'h'
	applicantPages byte = 'a'
	// The records' listings (recordPos).
	consultationPages byte = 'z' // consultations, newest first
	questionPages     byte = 'w' // the questions an office must answer, oldest first
	reportPages       byte = 'r' // urgent reports, newest written first
	unackedPages      byte = 'u' // reports awaiting this office's acknowledgement, oldest first
	matterPages       byte = 'm' // a matter's reports: its first, then those that follow
)

// pageToken is the page token of a listing going on after pos: 8 bytes
// of order (a rank, a filing time) and a case's number.
func pageToken(listing byte, pos []byte) string {
	return base64.RawURLEncoding.EncodeToString(append([]byte{listing}, pos...))
}

// parsePageToken is the position a page token of listing names, or
// ErrBadPageToken for what no listing of this book gave out: another
// listing's token, or one whose position is not 8 bytes and a case
// number.
func parsePageToken(listing byte, t string) ([]byte, error) {
	b, err := base64.RawURLEncoding.DecodeString(t)
	if err != nil || len(b) < 10 || b[0] != listing {
		return nil, ErrBadPageToken
	}
	if _, _, _, err := casework.ParseCaseNumber(string(b[9:])); err != nil {
		return nil, ErrBadPageToken
	}
	return b[1:], nil
}

// recordPos is a record's place in a listing of records (consultations,
// urgent reports): 8 bytes of order (a time) and the record's id. A page
// token is the position of its page's last record, not an offset, so
// records kept meanwhile do not shift the pages.
type recordPos struct {
	at uint64
	id string
}

func (p recordPos) compare(q recordPos) int {
	return cmp.Or(cmp.Compare(p.at, q.at), strings.Compare(p.id, q.id))
}

// parseRecordToken is the position a page token of a listing of records
// names, or ErrBadPageToken for what no such listing gave out: another
// listing's token, or one whose id is not a record's (isID).
func parseRecordToken(listing byte, t string, isID func(string) bool) (recordPos, error) {
	b, err := base64.RawURLEncoding.DecodeString(t)
	if err != nil || len(b) < 10 || b[0] != listing || !isID(string(b[9:])) {
		return recordPos{}, ErrBadPageToken
	}
	return recordPos{binary.BigEndian.Uint64(b[1:9]), string(b[9:])}, nil
}

// recordsAfter keeps of ps, a listing's positions, those after the page
// token t (every one for ""): the older for a newest-first listing, the
// newer for an oldest-first one.
func recordsAfter(ps []recordPos, listing byte, t string, newestFirst bool, isID func(string) bool) ([]recordPos, error) {
	if t == "" {
		return ps, nil
	}
	from, err := parseRecordToken(listing, t, isID)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(ps, func(p recordPos) bool {
		if newestFirst {
			return p.compare(from) >= 0
		}
		return p.compare(from) <= 0
	}), nil
}

// recordPage loads the records at ps in their order, keeping those load
// keeps (found, and matching the query), at most size; next is the page
// token of the page after them when load keeps another ("" after the
// last page).
func recordPage[T any](ps []recordPos, listing byte, size int, load func(id string) (T, bool)) (out []T, next string) {
	var last recordPos
	for _, p := range ps {
		v, ok := load(p.id)
		if !ok {
			continue
		}
		if len(out) == size {
			return out, pageToken(listing, append(be64(last.at), last.id...))
		}
		out, last = append(out, v), p
	}
	return out, ""
}

// Queue returns a page of the office's queue and the token of the next
// page ("" after the last). With a state and a department it walks that
// part of the queue (book/iq/), else the whole queue by due time
// (book/ir/), whose values name each case's state and department: either
// way in order, from the page token on, reading the cases of the page
// only. A state without a department, or an item, filters as it walks:
// the more of the queue it leaves out, the more it reads, and a page
// reads at most maxListRead cases (an item's filter, the overdue ones
// suspended) and then ends, short or empty, with a token to go on.
func (b *Book) Queue(q QueueQuery) ([]*yizhanv1.Case, string, error) {
	var after []byte // rank and number of the previous page's last case
	if q.PageToken != "" {
		e, err := parseQueueToken(q.PageToken)
		if err != nil {
			return nil, "", err
		}
		after = append(be64(e.rank), e.number...)
	}
	var p []byte
	byState := q.State != yizhanv1.CaseState_CASE_STATE_UNSPECIFIED && q.Department != ""
	if byState {
		p = key(pQueue, q.Office, be32(uint32(q.State)), q.Department, "")
	} else {
		p = key(pQueueByDue, q.Office, "")
	}
	var dueBefore uint64 = notRunning
	if !q.OverdueAt.IsZero() {
		dueBefore = uint64(max(q.OverdueAt.Unix(), 0))
	}
	size := pageSize(q.PageSize)
	var (
		out  []*yizhanv1.Case
		next string
	)
	gen := b.generation.Load() // the book the view reads, for noteDamage
	err := b.db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix, opts.PrefetchValues = p, false
		it := txn.NewIterator(opts)
		defer it.Close()
		start := p
		if after != nil {
			start = append(slices.Clone(p), after...)
		}
		var last queueEntry // the last entry the walk passed: listed, or left out
		read := 0           // cases read
		skipped := 0        // entries the state or department left out, no case read
		for it.Seek(start); it.Valid(); it.Next() {
			item := it.Item()
			rest := item.Key()[len(p):]
			if len(rest) < 9 || (after != nil && bytes.Equal(rest, after)) {
				continue
			}
			e := queueEntry{rank: binary.BigEndian.Uint64(rest), number: string(rest[8:])}
			if !q.OverdueAt.IsZero() && e.rank >= dueBefore {
				break // the rest are due later, or have no running clock
			}
			if !byState {
				v, err := item.ValueCopy(nil)
				if err != nil {
					return err
				}
				if len(v) < 4 || (q.State != yizhanv1.CaseState_CASE_STATE_UNSPECIFIED && binary.BigEndian.Uint32(v) != uint32(q.State)) ||
					(q.Department != "" && string(v[4:]) != q.Department) {
					if skipped++; skipped >= maxQueueSkipped && last != (queueEntry{}) {
						next = last.token() // the page ends short: the next goes on from here
						break
					}
					last = e
					continue
				}
			}
			if read == maxListRead {
				next = last.token() // the page ends short: the next goes on from here
				break
			}
			read++
			c := &yizhanv1.Case{}
			ok, err := getProto(txn, caseKey(e.number), c)
			if err != nil {
				return err
			}
			if !ok || (q.ItemCode != "" && c.GetItemCode() != q.ItemCode) {
				last = e
				continue
			}
			if !q.OverdueAt.IsZero() && c.GetSuspended() {
				// Ranked by when its procedure's limit is reached, which
				// may come before it falls overdue (queueKeyOf).
				late, err := b.overdueBy(txn, c, q.Registry, dueBefore)
				if err != nil && !b.noteDamage(gen, err) {
					return err
				}
				if !late {
					last = e
					continue
				}
			}
			if len(out) == size {
				next = last.token()
				break
			}
			out = append(out, b.withMirror(c))
			last = e
		}
		return nil
	})
	return out, next, err
}

// overdueBy reports whether suspended case c falls overdue before the
// rank dueBefore (a time in unix seconds), as its queue rank would say
// without its procedure's limit.
func (b *Book) overdueBy(txn *badger.Txn, c *yizhanv1.Case, reg casework.Registry, dueBefore uint64) (bool, error) {
	if reg == nil {
		return false, errors.New("casebook: an overdue listing needs the registry")
	}
	events, err := loadWhole(txn, c.GetNumber(), c)
	if err != nil {
		return false, err // damage: the listing leaves the case out (noteDamage)
	}
	due, ok := casework.OverdueFrom(c, events, reg, c.GetUpdatedAt().AsTime())
	return ok && uint64(max(due.Unix(), 0)) < dueBefore, nil
}

// ListQuery selects the cases an office appended to or was handed (its
// own, those it passed on, and at a township or county the mirrors of
// the offices below), newest filing first.
type ListQuery struct {
	Office string // required
	// Subtree lists the cases of the offices below Office too, as this
	// book holds them (their mirrors), each once (list_subtree.go).
	Subtree    bool
	State      yizhanv1.CaseState
	ItemCode   string
	Department string
	// FiledFrom and FiledTo bound the filing time: From ≤ filed < To;
	// either may be unset.
	FiledFrom, FiledTo time.Time
	PageSize           int
	PageToken          string
}

// List returns a page of the office's cases and the token of the next
// page. It walks the office's cases by filing time from the newest and
// reads each to filter it: a filter that keeps few of many cases (a rare
// state over years) reads many, so a page reads at most maxListRead
// cases and then ends, short (empty, even) but with a token to go on
// from there; narrow it with the dates.
func (b *Book) List(q ListQuery) ([]*yizhanv1.Case, string, error) {
	if q.Subtree {
		return b.listSubtree(q)
	}
	return b.list(q, nil)
}

// maxQueueSkipped is how many entries of the queue by due time a page of
// Queue leaves out by their state or department (no case read: 0.6 µs
// each) before it ends short: a state no case is in read a county's
// 200,000 open cases' entries for one page, 61–119 ms (session 48).
var maxQueueSkipped = 10 * maxListRead

// maxListRead is how many cases a page of List, Queue or ByApplicant
// reads at most (about 50 ms; twice the largest page, so that a page
// without a filter, or with one that keeps half the cases, is full): a
// filter that keeps none of a county's cases read them all for one page,
// 2.1 s for 100,000, in one read transaction, and a client whose
// deadline cut the walk short asked again from its start (session 48).
var maxListRead = 2 * MaxPageSize

// list is List, telling trace, when set, what became of each entry the
// walk met ("listed", or why it was left out: the Probe's use).
func (b *Book) list(q ListQuery, trace func(number, what string)) ([]*yizhanv1.Case, string, error) {
	if trace == nil {
		trace = func(string, string) {}
	}
	p := key(pTouched, q.Office, "")
	upper := append(slices.Clone(p), 0xff)
	if !q.FiledTo.IsZero() {
		upper = append(slices.Clone(p), be64(uint64(max(q.FiledTo.UnixNano(), 0)))...)
	}
	if q.PageToken != "" {
		t, err := parsePageToken(historyPages, q.PageToken)
		if err != nil {
			return nil, "", err
		}
		if k := append(slices.Clone(p), t...); bytes.Compare(k, upper) < 0 {
			upper = k
		}
	}
	var lower []byte
	if !q.FiledFrom.IsZero() {
		lower = append(slices.Clone(p), be64(uint64(max(q.FiledFrom.UnixNano(), 0)))...)
	}
	size := pageSize(q.PageSize)
	var (
		out  []*yizhanv1.Case
		next string
	)
	gen := b.generation.Load() // the book the view reads, for noteDamage
	err := b.db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix, opts.Reverse = p, true
		it := txn.NewIterator(opts)
		defer it.Close()
		var last []byte
		read := 0
		for it.Seek(upper); it.Valid(); it.Next() {
			k := it.Item().Key()
			if bytes.Compare(k, upper) >= 0 {
				trace(string(k), "at or above the page's upper bound")
				continue // Seek lands on upper itself: the page token's case
			}
			if lower != nil && bytes.Compare(k, lower) < 0 {
				trace(string(k), "below filed_from: the walk ends")
				break
			}
			if len(out) == size || read == maxListRead {
				next = pageToken(historyPages, last[len(p):])
				if len(out) == size {
					trace(string(k), "the page is full")
				} else {
					trace(string(k), "the page read its most cases: it ends short")
				}
				break
			}
			read++
			last = it.Item().KeyCopy(last[:0])
			number, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			c, events, ok, err := loadCaseHead(txn, string(number))
			if err != nil && !b.noteDamage(gen, err) {
				return err
			}
			if !ok {
				b.leftOut("office "+q.Office, string(number), c != nil)
				trace(string(number), "not read whole")
				continue
			}
			if !matches(c, events, q) {
				trace(string(number), "does not match the filters")
				continue
			}
			trace(string(number), "listed")
			out = append(out, b.withMirror(c))
		}
		return nil
	})
	return out, next, err
}

// numberDay is the day (YYYYMMDD) case number n names, or "" for a
// number that names none.
func numberDay(n string) string {
	_, day, _, err := casework.ParseCaseNumber(n)
	if err != nil {
		return ""
	}
	return day
}

// loadCaseHead reads a case and its filing event. A record held without
// a single event on disk is a *DamageError, as one whose filing event
// the database cannot read back is: the listings note it (noteDamage)
// as they leave it out.
func loadCaseHead(txn *badger.Txn, number string) (*yizhanv1.Case, []*yizhanv1.CaseEvent, bool, error) {
	c := &yizhanv1.Case{}
	ok, err := getProto(txn, caseKey(number), c)
	if err != nil || !ok {
		return nil, nil, false, err
	}
	events, err := loadEvents(txn, number, 1)
	if err == nil && len(events) == 0 && c.GetLastSeq() > 0 {
		err = damagedCase(number, c.GetLastSeq(), 0)
	}
	return c, events, err == nil && len(events) == 1, err // c set: the record is there
}

func matches(c *yizhanv1.Case, head []*yizhanv1.CaseEvent, q ListQuery) bool {
	switch {
	case q.State != yizhanv1.CaseState_CASE_STATE_UNSPECIFIED && c.GetState() != q.State:
		return false
	case q.ItemCode != "" && c.GetItemCode() != q.ItemCode:
		return false
	case q.Department != "" && departmentOf(head) != q.Department:
		return false
	}
	return true
}

// ApplicantQuery finds cases by their applicant: an ID number, a phone
// number or a name, exactly (the ID number and phone are looked up by
// their keyed hashes; the book keeps neither in an index in clear).
type ApplicantQuery struct {
	IDNumber, Phone, Name string
	CreditCode            string // an organisation's 统一社会信用代码
	// Office, when set, keeps the cases that office appended to or was
	// handed (as List).
	Office string
	// State, ItemCode and Department, when set, keep the cases in that
	// state, of that item, of that lead department.
	State      yizhanv1.CaseState
	ItemCode   string
	Department string
	// FiledFrom and FiledTo, when set, keep the cases filed at or after
	// FiledFrom and before FiledTo.
	FiledFrom, FiledTo time.Time
	PageSize           int
	PageToken          string
}

// ByApplicant returns a page of the cases of an applicant, newest filing
// first (whichever office filed them), and the token of the next page.
// It reads the cases a day of the applicant's at a time, and a page
// reads at most maxListRead cases, as List: with a filter that keeps few
// of a common name's cases it ends short (empty, even) with a token to
// go on; a day of more cases than that is read whole.
func (b *Book) ByApplicant(q ApplicantQuery, reg casework.Registry) ([]*yizhanv1.Case, string, error) {
	var prefixes [][]byte
	keys := [][]byte{nil}
	if k := hashKey(reg); k != nil {
		keys = append(keys, k)
	}
	for _, k := range keys {
		if id := normalizeID(q.IDNumber); id != "" {
			prefixes = append(prefixes, key(pApplicant, string(append([]byte{byIDNumber}, applicantHash(k, "id", id)...)), ""))
		}
		if q.Phone != "" {
			prefixes = append(prefixes, key(pApplicant, string(append([]byte{byPhone}, applicantHash(k, "phone", q.Phone)...)), ""))
		}
	}
	if n := strings.TrimSpace(q.Name); n != "" {
		prefixes = append(prefixes, key(pApplicant, string(byName)+n, ""))
	}
	if c := strings.TrimSpace(q.CreditCode); c != "" {
		prefixes = append(prefixes, key(pApplicant, string(byCreditCode)+c, ""))
	}
	var after []byte // the previous page's last filing time and number
	if q.PageToken != "" {
		t, err := parsePageToken(applicantPages, q.PageToken)
		if err != nil {
			return nil, "", err
		}
		after = t
	}
	size := pageSize(q.PageSize)
	var (
		out  []*yizhanv1.Case
		next string
	)
	gen := b.generation.Load() // the book the view reads, for noteDamage
	err := b.db.View(func(txn *badger.Txn) error {
		found := map[string]int{}
		for _, p := range prefixes {
			seen := map[string]bool{}
			if err := eachKey(txn, p, func(_, v []byte) error {
				if n := string(v); !seen[n] {
					seen[n] = true
					found[n]++
				}
				return nil
			}); err != nil {
				return err
			}
		}
		// Every given field must match: a case found under each kind
		// asked for (an ID number under either hash key counts once).
		kinds := 0
		for _, s := range []string{normalizeID(q.IDNumber), q.Phone, strings.TrimSpace(q.Name), strings.TrimSpace(q.CreditCode)} {
			if s != "" {
				kinds++
			}
		}
		// The matching cases, filtered, newest filing first (a
		// citizen's cases are few; a common name's, some thousands). A
		// case is filed on the day its number names (the office numbers
		// it at the filing's time), so the candidates are taken by that
		// day, newest first, and a day's are read only while the page is
		// not full: a page reads about its own cases, not every case of
		// the name. The order is the day, then the filing time, then the
		// number, newest first: the filing time's order, and a whole
		// order even for a case whose time fell on another day.
		// The dates leave out the days outside them, a day's margin
		// kept on each side (the exact filter is the filing time's).
		firstDay, lastDay := "", "99999999"
		if !q.FiledFrom.IsZero() {
			firstDay = q.FiledFrom.In(registry.CST).AddDate(0, 0, -1).Format("20060102")
		}
		if !q.FiledTo.IsZero() {
			lastDay = q.FiledTo.In(registry.CST).AddDate(0, 0, 1).Format("20060102")
		}
		type candidate struct{ day, number string }
		var cands []candidate
		for n, kindsFound := range found {
			if day := numberDay(n); kindsFound >= kinds && day >= firstDay && day <= lastDay {
				cands = append(cands, candidate{day, n})
			}
		}
		slices.SortFunc(cands, func(x, y candidate) int {
			if c := strings.Compare(y.day, x.day); c != 0 {
				return c
			}
			return strings.Compare(y.number, x.number)
		})
		type hit struct {
			day string
			pos []byte // the filing time and the number: the token
			c   *yizhanv1.Case
		}
		order := func(x, y hit) int { // newest first
			if c := strings.Compare(y.day, x.day); c != 0 {
				return c
			}
			return bytes.Compare(y.pos, x.pos)
		}
		var last *hit // the previous page's last case
		if after != nil {
			last = &hit{day: numberDay(string(after[8:])), pos: after}
		}
		// A page reads at most maxListRead cases, a day at a time: a
		// day's cases come in the order of their filing times, which only
		// reading them tells, so a page ends short (empty, even) before a
		// day that would take it past the bound, with the token of the
		// end of the last day it read: a time of 0 and a number of that
		// day, after every case of the day, so the next page does not
		// read it again. A day of more than the bound is read whole, by
		// a page that begins with it.
		dayDone := last != nil && binary.BigEndian.Uint64(after[:8]) == 0
		read := 0
		var hits []hit
		for i := 0; i < len(cands) && len(hits) <= size; {
			day := cands[i].day
			end := i
			for end < len(cands) && cands[end].day == day {
				end++
			}
			if last != nil && (day > last.day || day == last.day && dayDone) {
				i = end // on an earlier page
				continue
			}
			if read > 0 && read+end-i > maxListRead {
				next = pageToken(applicantPages, append(be64(0), cands[i-1].number...))
				break
			}
			first := len(hits)
			for ; i < end; i++ {
				n := cands[i].number
				read++
				c, head, ok, err := loadCaseHead(txn, n)
				if err != nil && !b.noteDamage(gen, err) {
					return err
				}
				if !ok {
					b.leftOut("applicant", n, c != nil)
					continue
				}
				filed := c.GetFiledAt().AsTime()
				if !matches(c, head, ListQuery{State: q.State, ItemCode: q.ItemCode, Department: q.Department}) ||
					!q.FiledFrom.IsZero() && filed.Before(q.FiledFrom) || !q.FiledTo.IsZero() && !filed.Before(q.FiledTo) {
					continue
				}
				if q.Office != "" {
					if _, err := txn.Get(touchedKey(q.Office, c)); err != nil {
						if errors.Is(err, badger.ErrKeyNotFound) {
							continue
						}
						return err
					}
				}
				h := hit{day, append(be64(uint64(max(filed.UnixNano(), 0))), n...), c}
				if last != nil && order(h, *last) <= 0 {
					continue // on an earlier page
				}
				hits = append(hits, h)
			}
			slices.SortFunc(hits[first:], order)
		}
		for i, h := range hits {
			if i == size {
				next = pageToken(applicantPages, hits[i-1].pos)
				break
			}
			out = append(out, b.withMirror(h.c))
		}
		return nil
	})
	return out, next, err
}

// Stat is one counter.
type Stat struct {
	Period     string // d20261201, m202612 or y2026
	Office     string
	ItemCode   string
	Department string
	Outcome    string // Stat… constants
	Value      uint64
}

// StatsQuery selects counters of one period (required); the other fields,
// empty, select all.
type StatsQuery struct {
	Period     string // Day, Month or Year letter and the date: "y2026"
	Office     string
	ItemCode   string
	Department string
	Outcome    string
}

// PeriodOf is the period key of granularity g (Day, Month, Year) that
// holds t (China Standard Time).
func PeriodOf(g byte, t time.Time) string {
	ps := periodsOf(t)
	switch g {
	case Day:
		return ps[0]
	case Month:
		return ps[1]
	}
	return ps[2]
}

// Stats returns the counters of a period the query selects, in key order
// (office, item, department, outcome). A year at a county is some
// thousands of keys.
func (b *Book) Stats(q StatsQuery) ([]Stat, error) {
	p := key(pStat, q.Period, "")
	if q.Office != "" {
		p = key(pStat, q.Period, q.Office, "")
	}
	var out []Stat
	err := b.readStats(func(txn *badger.Txn) error {
		return eachKey(txn, p, func(k, v []byte) error {
			parts := strings.Split(string(k[len(pStat):]), "\x00")
			if len(parts) != 5 {
				return nil
			}
			s := Stat{Period: parts[0], Office: parts[1], ItemCode: parts[2], Department: parts[3], Outcome: parts[4], Value: decodeUint(v)}
			if (q.ItemCode != "" && s.ItemCode != q.ItemCode) || (q.Department != "" && s.Department != q.Department) || (q.Outcome != "" && s.Outcome != q.Outcome) {
				return nil
			}
			out = append(out, s)
			return nil
		})
	})
	return out, err
}
