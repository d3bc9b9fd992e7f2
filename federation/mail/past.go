package mail

import (
	"context"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	"github.com/yizhan-gov/yizhan/duty"
	"github.com/yizhan-gov/yizhan/registry"
)

// Urgent records past an office out of reach (越级报告). An urgent report,
// and the flag that says a first report is unsigned past its hour, waits
// in the outbox for the parent office like any record: a township down
// for the afternoon would hold its villages' landslide reports back from
// the county past their hour. Once the parent has been out of reach for
// Config.PastAfter, the leader sends those records past it: to the office
// above the parent, and on up while each is out of reach. The outbox
// entry stays for the parent, which gets the record when it is back and
// carries it up as ever (the offices above hold it already: it changes
// nothing there). Only urgent records go past: cases wait for the
// parent, whose work they are. Which records went past is kept in memory:
// a new leader may send one past again, which changes nothing either.

// isUrgentRecord reports whether an outbox entry's record may go past a
// parent out of reach: an urgent report or an unsigned report's flag.
func isUrgentRecord(id string) bool { return duty.IsReportID(id) || duty.IsUnsignedFlagID(id) }

// urgentPrefixes are how the numbers of urgent records begin, in order:
// the sender reads each destination's urgent records from there
// (mailer.due, sendPast), not the whole outbox.
var urgentPrefixes = func() []string {
	report := duty.ReportID("450000000000", time.Unix(0, 0), "A")
	p := []string{report[:strings.Index(report, "-")+1], duty.UnsignedFlagID("")}
	slices.Sort(p)
	return p
}()

// urgentFromBelow reports whether req, from office from, is urgent
// records sent past the office between: from is below office, not its
// child, and every message carries an urgent record (the book checks
// each comes from the office that wrote it, or from below it).
func urgentFromBelow(from, office string, req *peerv1.DeliverCasesRequest) bool {
	if from == office || !registry.IsAncestorOrSelf(office, from) || len(req.GetMessages()) == 0 {
		return false
	}
	for _, m := range req.GetMessages() {
		if (m.GetReport() == nil && m.GetUnsignedFlag() == nil) || !isUrgentRecord(m.GetCaseNumber()) {
			return false
		}
	}
	return true
}

// sendPast sends past the parent, once it has been out of reach for
// PastAfter, the urgent records waiting for it that no office above has
// taken yet, one call at a time; after a call no office above took any
// of (none answered, or one refused them), the next waits, longer each
// time up to maxPastBackoff (as the parent's calls do: a village whose
// own line is down reaches nothing). Caller holds m.mu.
func (m *mailer) sendPast(ctx context.Context, outbox outboxReader, now time.Time) {
	parent := registry.ParentCode(m.ml.cfg.Office)
	since, down := m.unreachable[parent]
	if !down || m.pastBusy || registry.ParentCode(parent) == "" || now.Sub(since) < m.ml.cfg.PastAfter || now.Before(m.pastNext) {
		return
	}
	var entries []*peerv1.OutboxEntry
	for _, p := range urgentPrefixes {
		outbox.OutboxScan(parent, p, func(e *peerv1.OutboxEntry) bool {
			k := outboxKey{parent, e.GetCaseNumber()}
			if len(entries) == deliverBatch || !strings.HasPrefix(k.number, p) {
				return false
			}
			if isUrgentRecord(k.number) && m.past[k] < e.GetUptoSeq() {
				entries = append(entries, e)
			}
			return true
		})
	}
	if len(entries) == 0 {
		return
	}
	m.pastBusy = true
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		took, answered := m.ml.deliverPast(ctx, parent, entries, since)
		m.mu.Lock()
		defer m.mu.Unlock()
		m.pastBusy = false
		for _, e := range took {
			m.past[outboxKey{e.GetDestOffice(), e.GetCaseNumber()}] = e.GetUptoSeq()
		}
		if answered && len(took) > 0 {
			m.pastBackoff, m.pastNext = 0, time.Time{}
		} else { // out of reach too, or it refused them: not again at once
			m.pastBackoff = min(max(2*m.pastBackoff, time.Second), maxPastBackoff)
			m.pastNext = m.ml.cfg.Now().Add(m.pastBackoff)
		}
	}()
}

// maxPastBackoff is the longest wait between calls past the parent that
// no office above answered.
const maxPastBackoff = time.Minute

// deliverPast sends entries, which wait for office parent (out of reach
// since since), to the offices above it, the nearest first, until one
// answers; it returns the entries that office took, and whether any
// answered.
func (ml *Mail) deliverPast(ctx context.Context, parent string, entries []*peerv1.OutboxEntry, since time.Time) (took []*peerv1.OutboxEntry, answered bool) {
	req := &peerv1.DeliverCasesRequest{}
	var sent []*peerv1.OutboxEntry
	for _, e := range entries {
		msg, ok := ml.cfg.FSM.Cases().Message(e)
		if !ok || proto.Size(msg) > ml.cfg.MaxCaseMessageBytes {
			continue // the parent's delivery sets it aside
		}
		req.Messages = append(req.Messages, msg)
		sent = append(sent, e)
	}
	if len(sent) == 0 {
		return nil, true // nothing to send: nothing failed
	}
	for above := registry.ParentCode(parent); above != ""; above = registry.ParentCode(above) {
		resp, err := ml.call(ctx, above, req)
		if err != nil {
			ml.log.Warn("could not send urgent records past the office above, out of reach", "parent", parent, "to", above, "err", err)
			if status.Code(err) == codes.PermissionDenied || contentError(err) {
				return nil, false // a release that takes mail from its children only: they wait for the parent
			}
			continue
		}
		for i, rc := range resp.GetReceipts() {
			switch {
			case i >= len(sent):
			case rc.GetRefused() != "":
				ml.log.Warn("urgent record sent past the parent refused", "record", rc.GetCaseNumber(), "to", above, "err", rc.GetRefused())
			case rc.GetHaveSeq() >= sent[i].GetUptoSeq():
				took = append(took, sent[i])
			}
		}
		ml.log.Warn("urgent records sent past the office above, out of reach (越级报告): it gets them when it is back",
			"parent", parent, "out_of_reach_since", since.In(registry.CST).Format(time.DateTime), "to", above, "records", len(took))
		return took, true
	}
	return nil, false
}
