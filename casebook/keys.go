package casebook

import "encoding/binary"

// The book's keys, all under prefix "book/" in the node's badger. Parts a
// user or another office chooses (numbers, codes, names) end with a zero
// byte, so one never runs into the next; numbers are big-endian, so keys
// sort as the numbers do. Index keys (i…) hold the case number as their
// value.
//
//	book/m/<name>                         meta: applied index, counts
//	book/c/<number>                       the case, folded (yizhanv1.Case)
//	book/e/<number>\0<seq>                its events (yizhanv1.CaseEvent), each signer
//	                                      chain a reference to book/sc/ (format 2)
//	book/sc/<sha256>                     a signer chain, stored once (chains.go)
//	book/o/<dest>\0<number>               outbox (peerv1.OutboxEntry)
//	book/x/<dest>\0<number>               set aside (peerv1.QuarantinedEntry)
//	book/s/<day>                          highest sequence of this office's numbers that day
//	book/n/<number>                       the office must act on the case by itself
//	book/r/<request id>                   a client's write remembered (peerv1.RequestRecord)
//	book/rt/<at><index>                   → request id, oldest first, for expiry
//	book/kq/<number>                      → the case's queue key, while it has one
//	book/iq/<owner>\0<state><dept>\0<due><number>  the queue by state and department
//	book/ir/<owner>\0<due><number>       the queue by due time → <state><dept>
//	book/ks/<number>                      → the case's open step key, while it has one
//	book/is/<due><number>                 cases in a step with a limit of its own, by its end
//	book/it/<office>\0<filed at><number>  cases an office appended to or was handed
//	book/ia/<kind><value>\0<number>       applicant: i (ID number) and p (phone) as
//	                                      keyed hashes, n (name) in clear
//	book/st/<period>\0<office>\0<item>\0<dept>\0<outcome>   statistics counters
//	book/sd/<scope>\0<day>               the daily series: acceptances, same-day decisions
//	book/k/<number>\0<rule>              a supervision card (yizhanv1.Card)
//	book/ik/<at><number>\0<rule>         cards by time → <office>\0<dept>\0<withdrawn>
//	book/vf/<case number>.<seq>          a follow-up of a complaint or bad rating (county)
//	book/vo/<id>                         a supervision order (county)
//	book/ivo/<number>\0<id>              a case's orders
//	book/iv/<due><kind><id>              open follow-ups (f) and orders (o) by due time
//	book/zc/<id>                         a consultation (yizhanv1.Consultation)
//	book/iz/<office>\0<at><id>           consultations by the office where they came in
//	book/izq/<at><id>                    questions this office must answer, while asked
//	book/dr/<id>                         an urgent report (yizhanv1.UrgentReport)
//	book/drh/<id>                        when this book stored it signed, and late
//	book/idr/<office>\0<at><id>          reports by reporting office and time written
//	book/idq/<at><id>                    signed reports from below not acknowledged here
//	book/drf/<first id>\0<id>            a first report's follow-ups and final report
//	book/dq/<report id>\0<office>        an acknowledgement (yizhanv1.ReportAck)
//	book/idrs/<signed at><id>            signed first reports by when they were signed
//	book/idrd/<due><id>                  this office's draft first reports by deadline
//	book/dw/<report id>                  a report's unsigned flag (yizhanv1.UnsignedReportFlag)
//	book/idw/<due><report id>            unsigned flags whose report is not held signed here
//	book/ds/<id>                         a duty shift (yizhanv1.DutyShift)
//	book/ids/<office>\0<start><id>       shifts by office and start
//	book/idsf/<due><id>                  this office's shifts by when a flag falls due
//	book/dl/<id>                         a duty log entry (yizhanv1.DutyLogEntry)
//	book/idl/<shift id>\0<at><id>        a shift's log entries
//	book/idld/<day>\0<at><id>            log entries by day
//	book/dz/<day>\0<office>              a zero report (yizhanv1.ZeroReport)
//	book/fa/<sha256>                     a scanned file held: size, type, bytes held
//	book/fp/<sha256><offset>             a part of it
//	book/ga/<index>                      a registry write, for audit (yizhanv1.RegistryChange)
//	book/iga/<kind>\0<target>\0<index>   the writes to one registry entry
const prefix = "book/"

var (
	keyApplied    = []byte(prefix + "m/applied")
	keyCases      = []byte(prefix + "m/cases")
	keyOutboxLen  = []byte(prefix + "m/outbox")
	keyQuarantLen = []byte(prefix + "m/quarantine")
	keyRequests   = []byte(prefix + "m/requests")
	keyFormat     = []byte(prefix + "m/format")
	// keyOffice is the office whose book this is, written when a book is
	// first opened (Open): a data directory restored from another
	// office's backup is refused, not served as this office's.
	keyOffice = []byte(prefix + "m/office")
	// keyStatsFormat is the version of the counters' definitions
	// (statsFormat): a book whose counters are older counts them again
	// before it applies anything more (upgradeStats).
	keyStatsFormat = []byte(prefix + "m/stats-format")
	// keyStatsCounting is present while upgradeStats counts the counters
	// again: from before it drops the old ones until it writes the format.
	// A book that holds it holds part of its counters (a node stopped
	// part-way, or a snapshot of one): its statistics are not read
	// (ErrStatsRecounting) until the recount is whole.
	keyStatsCounting = []byte(prefix + "m/stats-counting")
)

// statsFormat is the counters' definitions: 1, the first release of the
// book on disk; 2, with the 即办/承诺 split, same-day decisions, paused
// days out of the working days used, the daily series and the cards; 3,
// with the follow-ups and orders (counted at query time before); 4, with
// duty's counters (shifts, flags, reports signed: the assessment) and its
// indexes of signed first reports and of drafts by deadline, and the
// clocks that stay overdue while suspended and pause at most a special
// procedure's own limit; 5, the cases folded again for the extensions
// (Case.extensions, §42); 6, suspended cases ranked in the queue by when
// they fall overdue (casework.OverdueFrom), not after every due case; 7,
// or by when their special procedure's own limit is reached, if that comes
// first (the sweep's 中止超过特别程序时限 card), and the cases folded again
// for the fee's units and whether one was assessed (Case.fee_units,
// fee_assessed); 8, the clocks whose limit ran out stay late (an extension
// granted, or a suspension begun, after the due time no longer moves it:
// decided in time or not, and the queue's rank of a suspended case); 9,
// the cases in a step with a limit of their own indexed by its end
// (book/is/), so that the sweep cards a step past its limit before it
// ends (no counter changed: a book of format 8 indexes its open cases'
// steps and counts nothing again, upgradeSteps); 10, a step's end moved
// by the days the case stood still in it (supervision.OpenStep: a step
// with a suspension in it was not watched; no counter changed, the open
// steps indexed again, upgradeSteps); 11, a rating counted at the office
// it judges, the one that decided (supervision.JudgedOffice), where its
// 差评 follow-up goes, not at the office where the citizen rated; 12, an
// online filing received (收件) when its pre-check takes it up
// (PRECHECKED), not when it is filed: one turned down at its pre-check is
// in no office's 收件, so that every tier counts an office's alike (the
// offices above never see one turned down in time), and a first
// report's hour run from when its office learnt of the event (duty.Due:
// the drafts' deadlines, book/idrd/, indexed again); 13, the scans no
// case names listed with when they came (book/ft/), so that the sweep
// reads those and not every file held (no counter changed: a book of
// format 12 lists them and counts nothing again, upgradeSteps).
const statsFormat = 13

// format is the layout version written in book/m/format: 1, the first
// release of the book on disk; 2, events stored with a reference to
// their signer chain, each chain stored once (chains.go). A book of
// format 1 needs no migration: its events, stored whole, are read as
// they are.
const format = 2

const (
	pCase        = prefix + "c/"
	pEvent       = prefix + "e/"
	pOutbox      = prefix + "o/"
	pQuarantine  = prefix + "x/"
	pSeq         = prefix + "s/"
	pNeeds       = prefix + "n/"
	pRequest     = prefix + "r/"
	pReqTime     = prefix + "rt/"
	pQueueKey    = prefix + "kq/"
	pQueue       = prefix + "iq/"
	pQueueByDue  = prefix + "ir/"
	pStepKey     = prefix + "ks/"
	pStepDue     = prefix + "is/"
	pTouched     = prefix + "it/"
	pApplicant   = prefix + "ia/"
	pStat        = prefix + "st/"
	pDaily       = prefix + "sd/"
	pCard        = prefix + "k/"
	pCardByTime  = prefix + "ik/"
	pFollowUp    = prefix + "vf/"
	pOrder       = prefix + "vo/"
	pOrderOfCase = prefix + "ivo/"
	pRecordDue   = prefix + "iv/"

	pConsultation         = prefix + "zc/"
	pConsultationByOffice = prefix + "iz/"
	pAwaitingAnswer       = prefix + "izq/"

	pReport          = prefix + "dr/"
	pReportHeld      = prefix + "drh/"
	pReportByOffice  = prefix + "idr/"
	pAwaitingAck     = prefix + "idq/"
	pReportFollowing = prefix + "drf/"
	pReportAck       = prefix + "dq/"
	pFirstBySigned   = prefix + "idrs/"
	pDraftDue        = prefix + "idrd/"
	pUnsignedFlag    = prefix + "dw/"
	pUnsignedOpen    = prefix + "idw/"

	pShift         = prefix + "ds/"
	pShiftByOffice = prefix + "ids/"
	pShiftDue      = prefix + "idsf/"
	pLog           = prefix + "dl/"
	pLogByShift    = prefix + "idl/"
	pLogByDay      = prefix + "idld/"
	pZero          = prefix + "dz/"

	pChain = prefix + "sc/"

	pRegistryChange         = prefix + "ga/"
	pRegistryChangeByTarget = prefix + "iga/"
)

// key joins parts: each string part but the last ends with a zero byte;
// []byte parts (fixed-width numbers) go in as they are.
func key(p string, parts ...any) []byte {
	b := make([]byte, 0, 64)
	b = append(b, p...)
	for i, part := range parts {
		switch v := part.(type) {
		case string:
			b = append(b, v...)
			if i < len(parts)-1 {
				b = append(b, 0)
			}
		case []byte:
			b = append(b, v...)
		}
	}
	return b
}

func be64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func be32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

func caseKey(number string) []byte { return key(pCase, number) }

func eventPrefix(number string) []byte { return key(pEvent, number, "") }

func eventKey(number string, seq uint32) []byte { return key(pEvent, number, be32(seq)) }

func outboxKey(dest, number string) []byte { return key(pOutbox, dest, number) }

func quarantineKey(dest, number string) []byte { return key(pQuarantine, dest, number) }
