package mail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casebook"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/duty"
	"github.com/yizhan-gov/yizhan/federation/forward"
	"github.com/yizhan-gov/yizhan/federation/pki"
	"github.com/yizhan-gov/yizhan/federation/raftgroup"
	"github.com/yizhan-gov/yizhan/registry"
	"github.com/yizhan-gov/yizhan/supervision"
)

const (
	// deliverBatch is how many cases one DeliverCases call carries at most.
	deliverBatch = 64
	// deliverBatchBytes is how large one DeliverCases call grows at most
	// (a single message may be larger, up to MaxCaseMessageBytes).
	deliverBatchBytes = 1 << 20
	// deliverTimeout bounds one DeliverCases call.
	deliverTimeout = 10 * time.Second
	// autoParallel is how many cases' automatic steps are proposed at once.
	autoParallel = 32

	// receivingPerSender is how many DeliverCases calls from one office
	// a node receives at once, and receivingInAll from all offices. A
	// sender has one call in flight to each destination; two of one
	// office overlap only while its leadership moves. A call beyond
	// either is answered Unavailable before its messages are checked:
	// the sender backs off and sends it again.
	receivingPerSender = 2
	receivingInAll     = 64

	// DefaultMaxCaseMessageBytes is the largest case message (a case's
	// whole log) sent to another office; a larger one is set aside.
	DefaultMaxCaseMessageBytes = 4 << 20
)

// Owner is the office's own path for writing its cases (lock, seal, sign,
// propose through its raft group), which the mail uses to take the
// automatic steps, to apply what it receives and to drop what was
// receipted. *federation.Office is the one.
type Owner interface {
	// LeaderReady reports whether this node leads its office and has
	// applied everything committed before its term.
	LeaderReady() bool
	// ClockOff is nil unless this node's clock is known to be far from
	// the county's: the mail then waits (it would date its events,
	// receipts and what it sets aside wrong, and the book forgets its
	// requests by those times).
	ClockOff() error
	// LockCase serialises work on one case on this node.
	LockCase(number string) func()
	// AppendEvents seals, signs and proposes events made by this office
	// for a case it owns; the caller holds the case's lock.
	AppendEvents(ctx context.Context, number string, prevHash []byte, events ...*yizhanv1.CaseEvent) (*yizhanv1.Case, error)
	// ProposeCase applies a case command through the office's raft group.
	ProposeCase(ctx context.Context, cmd *peerv1.CaseCommand) (proto.Message, error)
	// VerifyEventSignature checks that a node of the event's office signed it.
	VerifyEventSignature(e *yizhanv1.CaseEvent) error
	// VerifyRecordSignature checks that a node of office signed hash, the
	// hash of a record carried up beside the cases.
	VerifyRecordSignature(office, what string, hash, sig []byte, chain [][]byte) error
}

// Config is what one node's case mail works with.
type Config struct {
	Office string // this node's office
	Node   string // this node's name

	FSM    *raftgroup.FSM   // the case book, and when it changes
	Group  *raftgroup.Group // whether this node leads (the receiver)
	Owner  Owner
	Peers  *forward.Peers
	Routes *forward.Routes // OfficeTargets: the nodes of the next office
	Logger *slog.Logger

	// MaxCaseMessageBytes is the largest case message sent to another
	// office (default DefaultMaxCaseMessageBytes); a larger one is set
	// aside.
	MaxCaseMessageBytes int
	// Now is the office's clock (nil: time.Now). It stamps every command
	// the mail proposes (what is received: a report's arrival time at an
	// office is its command's; the automatic steps' events, which it also
	// judges a reroute by; receipts; what is set aside), and times the
	// mail's waits. A command's time is what the book's rules and its
	// memory of requests go by: the machine's clock, behind or ahead of
	// the office's, would make them see time go backwards.
	Now func() time.Time
	// QuarantineAfter is how long a case message may keep being refused
	// (or failing its call alone) before it is set aside (default 1h).
	QuarantineAfter time.Duration
	// PastAfter is how long the parent office must have been out of
	// reach before the urgent records waiting for it (urgent reports,
	// their unsigned flags) are sent past it to the offices above
	// (越级报告; default DefaultPastAfter).
	PastAfter time.Duration

	// lineClock times the parts of a push to the office above (nil: the
	// machine's clock). It is not Now: a part's time is time gone by on
	// this machine, whatever the office's clock says meanwhile.
	lineClock lineClock
}

// DefaultPastAfter is Config.PastAfter's default: a quarter of a first
// report's hour.
const DefaultPastAfter = 15 * time.Minute

// Mail is one node's case mail: it receives case messages from the
// neighbouring offices (Receive) and, while this node leads its office,
// takes the automatic steps and sends the outbox (Run).
type Mail struct {
	cfg Config
	log *slog.Logger

	mu           sync.Mutex               // guards deliveryErrs, pushed, pushers, runCtx
	deliveryErrs map[string]DeliveryError // by destination office, while failing
	pushed       map[string]bool          // "<dest>/<sha256>": a file the office above holds
	pushers      map[string]*pusher       // by destination: scanned files on their way up
	runCtx       context.Context          // Run's, for the pushers
	wake         chan struct{}            // a pusher finished a file: messages may go

	// arrivals counts the cases this node has had come into the office's
	// hands by mail (Arrivals).
	arrivals atomic.Uint64

	recvMu    sync.Mutex     // guards receiving, recvTotal
	receiving map[string]int // DeliverCases calls being received, by sending office
	recvTotal int
}

// startReceiving counts a call from office from as being received, or
// reports false when this node receives as many as it does at once from
// that office, or in all (receivingPerSender, receivingInAll).
func (ml *Mail) startReceiving(from string) bool {
	ml.recvMu.Lock()
	defer ml.recvMu.Unlock()
	if ml.receiving[from] >= receivingPerSender || ml.recvTotal >= receivingInAll {
		return false
	}
	if ml.receiving == nil {
		ml.receiving = map[string]int{}
	}
	ml.receiving[from]++
	ml.recvTotal++
	return true
}

func (ml *Mail) doneReceiving(from string) {
	ml.recvMu.Lock()
	defer ml.recvMu.Unlock()
	if ml.receiving[from]--; ml.receiving[from] <= 0 {
		delete(ml.receiving, from)
	}
	ml.recvTotal--
}

// Arrivals is how many cases this node, leading, has had come into the
// office's hands by mail since it started: handed to it by a neighbour,
// or taken back after a restore. Such a case comes routed under another
// office's registry, which may be behind this one's: the reroute sweep
// looks at the office's cases again after one.
func (ml *Mail) Arrivals() uint64 { return ml.arrivals.Load() }

// New returns the case mail of a node. Run sends; Receive receives.
func New(cfg Config) *Mail {
	if cfg.MaxCaseMessageBytes <= 0 {
		cfg.MaxCaseMessageBytes = DefaultMaxCaseMessageBytes
	}
	if cfg.PastAfter <= 0 {
		cfg.PastAfter = DefaultPastAfter
	}
	if cfg.QuarantineAfter <= 0 {
		cfg.QuarantineAfter = time.Hour
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.lineClock == nil {
		cfg.lineClock = machineClock{}
	}
	return &Mail{cfg: cfg, log: cfg.Logger, wake: make(chan struct{}, 1)}
}

// isNeighbour reports whether office a is the parent or a child of b.
func isNeighbour(a, b string) bool {
	return a != "" && b != "" && (registry.ParentCode(a) == b || registry.ParentCode(b) == a)
}

// Receive serves Peer.DeliverCases: the sender must be a neighbouring
// office (or an office further below sending urgent records past its
// parent, out of reach: past.go), speaking for itself; every event must be signed by a node of the
// office that made it, every record carried up (a consultation, an
// urgent report, an acknowledgement) by a node of the office that wrote it. Messages that fail are refused whole and leave no
// trace; the others are applied through raft. A call whose messages are
// more than the office's raft entry or book transaction may hold is
// answered ResourceExhausted, what the sender takes for a fault of what
// it sent (contentError), not of this office.
func (ml *Mail) Receive(ctx context.Context, req *peerv1.DeliverCasesRequest) (*peerv1.DeliverCasesResponse, error) {
	id, err := pki.PeerIdentity(ctx)
	if err != nil {
		return nil, status.Error(codes.Unauthenticated, err.Error())
	}
	if !isNeighbour(id.Office, ml.cfg.Office) && !urgentFromBelow(id.Office, ml.cfg.Office, req) {
		return nil, status.Errorf(codes.PermissionDenied, "office %s is not next to office %s on the tree", id.Office, ml.cfg.Office)
	}
	if !ml.cfg.Group.IsLeader() {
		return nil, status.Errorf(codes.Unavailable, "%s is not the leader of office %s", ml.cfg.Node, ml.cfg.Office)
	}
	if err := ml.cfg.Owner.ClockOff(); err != nil {
		// Not the message's fault: the sender sends it again once this
		// node's clock is set right.
		return nil, status.Error(codes.Unavailable, err.Error())
	}
	// Each call's signatures are checked and its messages proposed while
	// it holds its place: a sender that sends many at once (a node of
	// its office that still takes itself for the leader, or a buggy or
	// stolen one) does not take this node's CPU and raft log from its
	// other neighbours and its own staff.
	if !ml.startReceiving(id.Office) {
		return nil, status.Errorf(codes.Unavailable, "office %s is receiving as many calls from office %s, or from all its neighbours, as it receives at once: send it again later", ml.cfg.Office, id.Office)
	}
	defer ml.doneReceiving(id.Office)
	resp := &peerv1.DeliverCasesResponse{}
	refused := map[int]string{}
	unknownKind := map[int]bool{} // refused for a kind this release does not know (later.go)
	var accepted []*peerv1.CaseMessage
	for i, m := range req.GetMessages() {
		if why := laterKind(ml.cfg.Office, m); why != "" {
			refused[i], unknownKind[i] = why, true
		} else if why := ml.check(id.Office, m, true); why != "" {
			refused[i] = why
		} else {
			accepted = append(accepted, m)
		}
	}
	var receipts []*peerv1.CaseReceipt
	if len(accepted) > 0 {
		v, err := ml.cfg.Owner.ProposeCase(ctx, &peerv1.CaseCommand{AtUnixNano: ml.cfg.Now().UnixNano(),
			Op: &peerv1.CaseCommand_Receive{Receive: &peerv1.ReceiveCaseMessages{Messages: accepted}}})
		if errors.Is(err, raftgroup.ErrNotLeader) || errors.Is(err, raftgroup.ErrOutcomeUnknown) {
			// The sender sends again; applying is idempotent.
			return nil, status.Error(codes.Unavailable, err.Error())
		}
		if errors.Is(err, raftgroup.ErrTooLarge) || errors.Is(err, casebook.ErrTooLarge) {
			// More than a raft entry or the book's transaction may hold:
			// sent again, the same call is refused again. The fault is
			// what the call carries (contentError): the sender sends one
			// message a call until it finds the message at fault, holds
			// that one back and, refused still, sets it aside.
			return nil, status.Error(codes.ResourceExhausted, err.Error())
		}
		if err != nil {
			// A slow or stopping raft: nothing of it is the message's
			// fault, and applying again is idempotent.
			return nil, status.Error(codes.Unavailable, err.Error())
		}
		r, _ := v.(*peerv1.DeliverCasesResponse)
		receipts = r.GetReceipts()
		for _, m := range accepted {
			if m.GetHandoffTo() == ml.cfg.Office {
				ml.arrivals.Add(1)
			}
		}
	}
	next := 0
	for i, m := range req.GetMessages() {
		if why, bad := refused[i]; bad {
			ml.log.Warn("refused a case message", "case", m.GetCaseNumber(), "from", id.Office, "err", why)
			resp.Receipts = append(resp.Receipts, &peerv1.CaseReceipt{CaseNumber: m.GetCaseNumber(), Refused: why, UnknownKind: unknownKind[i]})
			continue
		}
		if next < len(receipts) {
			resp.Receipts = append(resp.Receipts, receipts[next])
		}
		next++
	}
	return resp, nil
}

// check is why a message from a neighbouring office from must be refused
// before it is proposed, "" when it may be: it says it comes from from;
// a record carried up is signed by a node of the office that wrote it;
// every event of a case not yet held here is signed by a node of the
// office it names; and, when attachments is set, a message from below
// names only scanned files this office holds whole.
func (ml *Mail) check(from string, m *peerv1.CaseMessage, attachments bool) string {
	if m.GetFromOffice() != from {
		return fmt.Sprintf("message claims to come from office %s, the certificate names %s", m.GetFromOffice(), from)
	}
	if why := casebook.OneRecordOrCase(m); why != "" {
		return why // the record checked below is the one applied
	}
	if office, what, hash, sig, chain, ok := recordSignature(m); ok {
		// A record carried up (casebook checks the rest).
		if err := ml.cfg.Owner.VerifyRecordSignature(office, what, hash, sig, chain); err != nil {
			return err.Error()
		}
		return ""
	}
	_, held, _, err := ml.cfg.FSM.Cases().Read(m.GetCaseNumber())
	if damaged(err) {
		// Applied, it would stop the node on the damaged case (casebook:
		// ErrDamaged), and again at every start: refused, it waits at
		// the sender, which holds it back and in time sets it aside,
		// saying why, and the node serves the office's other cases.
		return fmt.Sprintf("office %s cannot take case %s: %v", ml.cfg.Office, m.GetCaseNumber(), err)
	}
	for _, e := range m.GetEvents() {
		if n := int(e.GetSeq()); n >= 1 && n <= len(held) && bytes.Equal(held[n-1].GetHash(), e.GetHash()) {
			continue // held already, checked when it came
		}
		if err := ml.cfg.Owner.VerifyEventSignature(e); err != nil {
			return err.Error()
		}
	}
	if attachments && registry.ParentCode(from) == ml.cfg.Office {
		return ml.missingAttachments(from, m)
	}
	return ""
}

// TakeBack stores cases an office restored from a backup took back from
// its neighbour from (federation, recover.go), checked as mail from there
// is, and returns how many of them the book refused. The scanned files
// they name are not asked for: an office below keeps its own, and the
// restored office lost its copies (docs/OPERATIONS.md).
func (ml *Mail) TakeBack(ctx context.Context, from string, msgs []*peerv1.CaseMessage) (refused int, err error) {
	var accepted []*peerv1.CaseMessage
	for _, m := range msgs {
		if _, _, _, _, _, isRecord := recordSignature(m); isRecord {
			refused++
			continue
		}
		why := laterKind(ml.cfg.Office, m)
		if why == "" {
			why = ml.check(from, m, false)
		}
		if why != "" {
			ml.log.Warn("refused a case taken back", "case", m.GetCaseNumber(), "from", from, "err", why)
			refused++
			continue
		}
		accepted = append(accepted, m)
	}
	// One case a command: a case taken back is new here, all its events
	// written at once, and a page of them would pass the size of a
	// command (casebook's maxCommandBytes).
	for _, m := range accepted {
		v, err := ml.cfg.Owner.ProposeCase(ctx, &peerv1.CaseCommand{AtUnixNano: ml.cfg.Now().UnixNano(),
			Op: &peerv1.CaseCommand_Receive{Receive: &peerv1.ReceiveCaseMessages{Messages: []*peerv1.CaseMessage{m}}}})
		if errors.Is(err, casebook.ErrTooLarge) {
			ml.log.Warn("refused a case taken back", "case", m.GetCaseNumber(), "from", from, "err", err)
			refused++
			continue
		}
		if err != nil {
			return refused, err
		}
		ml.arrivals.Add(1)
		for _, r := range v.(*peerv1.DeliverCasesResponse).GetReceipts() {
			if r.GetRefused() != "" {
				ml.log.Warn("refused a case taken back", "case", r.GetCaseNumber(), "from", from, "err", r.GetRefused())
				refused++
			}
		}
	}
	return refused, nil
}

// recordSignature is what must be checked of a message that carries a
// record instead of a case's log: the office whose node signed it, the
// hash signed, the signature and its chain. ok is false for a case.
func recordSignature(m *peerv1.CaseMessage) (office, what string, hash, sig []byte, chain [][]byte, ok bool) {
	switch {
	case m.GetConsultation() != nil:
		c := m.GetConsultation()
		return supervision.Signer(c), "consultation " + c.GetId(), supervision.ConsultationHash(c), c.GetSignature(), c.GetSignerChain(), true
	case m.GetReport() != nil:
		r := m.GetReport()
		return r.GetOfficeCode(), "report " + r.GetId(), duty.Hash(r), r.GetSignature(), r.GetSignerChain(), true
	case m.GetShift() != nil:
		s := m.GetShift()
		return s.GetOfficeCode(), "shift " + s.GetId(), duty.Hash(s), s.GetSignature(), s.GetSignerChain(), true
	case m.GetZeroReport() != nil:
		z := m.GetZeroReport()
		return z.GetOfficeCode(), "zero report " + z.GetId(), duty.Hash(z), z.GetSignature(), z.GetSignerChain(), true
	case m.GetUnsignedFlag() != nil:
		f := m.GetUnsignedFlag()
		return f.GetOfficeCode(), "unsigned flag " + f.GetId(), duty.Hash(f), f.GetSignature(), f.GetSignerChain(), true
	case m.GetReportAck() != nil:
		a := m.GetReportAck()
		return a.GetOfficeCode(), "acknowledgement " + a.GetId(), duty.Hash(a), a.GetSignature(), a.GetSignerChain(), true
	}
	return "", "", nil, nil, nil, false
}

// Run runs on every node until ctx ends and works while it leads its
// office: it makes the events an owner makes by itself (receive a
// handed-on case, forward it toward the next step's office, close it
// after delivery) and sends the outbox. It wakes at each case command
// applied (FSM.CasesChanged), when a send finishes, and every 200 ms;
// registry changes do not wake it.
func (ml *Mail) Run(ctx context.Context) {
	m := newMailer(ml)
	ml.mu.Lock()
	ml.runCtx = ctx
	ml.mu.Unlock()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	defer m.wg.Wait()
	for {
		changed := ml.cfg.FSM.CasesChanged()
		leading := ml.cfg.Owner.LeaderReady()
		if leading && ml.cfg.Owner.ClockOff() == nil {
			ml.autoActions(ctx)
			m.sendDue(ctx)
		}
		if !leading {
			// A node that does not lead sends nothing: what failed while
			// it led is the new leader's to report now, or mended
			// (DeliveryErrors, the metric
			// yizhan_case_delivery_failing_offices).
			ml.clearDeliveryErrors(func(string) bool { return true })
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-tick.C:
		case <-m.wake:
		case <-ml.wake:
		}
	}
}

// autoActions makes the owner's own events for every case that needs one.
// Cases are stepped concurrently, up to autoParallel at a time, so that raft
// commits their events together rather than one after another.
func (ml *Mail) autoActions(ctx context.Context) {
	sem := make(chan struct{}, autoParallel)
	var wg sync.WaitGroup
	for _, number := range ml.cfg.FSM.Cases().NeedsAction() {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := ml.autoAct(ctx, number); err != nil && !errors.Is(err, raftgroup.ErrNotLeader) && ctx.Err() == nil {
				ml.log.Warn("case automatic step", "case", number, "err", err)
			}
		}()
	}
	wg.Wait()
}

func (ml *Mail) autoAct(ctx context.Context, number string) error {
	unlock := ml.cfg.Owner.LockCase(number)
	defer unlock()
	c, events, ok, err := ml.cfg.FSM.Cases().Read(number)
	if damaged(err) || errors.Is(err, casebook.ErrReplacing) {
		return nil
	}
	if err != nil || !ok {
		return err
	}
	action, to, ok := casework.Pending(c, events, ml.cfg.Office)
	if !ok {
		return nil
	}
	prev := events[len(events)-1].GetHash()
	now := ml.cfg.Now()
	e := casework.NewAutoEvent(c, action, to, ml.cfg.Office, now)
	// A case about to go to an office that lost its step's right since
	// it was routed is rerouted first (改派), not sent there.
	if route, why, lost := casework.Reroute(c, events, ml.cfg.FSM.Registry(), now); lost && action == casework.ActionForward {
		e = casework.NewRerouteEvent(c, route, why, ml.cfg.Office, now)
	}
	actx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err = ml.cfg.Owner.AppendEvents(actx, number, prev, e)
	return err
}

// damaged reports whether err is a damaged case (casebook.ErrDamaged:
// its record without all its events), which the office can neither act
// on nor send from this book: left alone (its outbox entry stays, for a
// node whose copy is whole), so that one damaged case neither stops the
// node nor holds back the others. The book's read that answered err
// logged it at error, once in the process, and counted it
// (casebook.Book.Read): the mail adds no line of its own, however often
// it reads the case.
func damaged(err error) bool { return errors.Is(err, casebook.ErrDamaged) }

// mailer sends the outbox, one call in flight per destination office,
// backing off from a destination that does not answer. A message is never
// allowed to hold back the ones behind it: calls are cut by bytes, a
// message too large to travel is set aside at once, one that the next
// office refuses (or that makes its call fail) is held back on its own,
// and set aside after QuarantineAfter, and so is mail to an office gone
// from the registry. A message waiting for its scanned files is held back
// on its own too (attachments.go), and set aside after QuarantineAfter
// of its file failing to go up. Urgent records go first in a call.
type mailer struct {
	ml   *Mail
	wg   sync.WaitGroup
	wake chan struct{} // a send finished: entries queued meanwhile may go

	mu      sync.Mutex // guards the maps
	next    map[string]time.Time
	backoff map[string]time.Duration
	busy    map[string]bool
	// single marks a destination whose last call failed for what it
	// carried: it is sent one message per call until one goes through, so
	// that the message at fault is found and held back alone.
	single map[string]bool
	held   map[outboxKey]*heldEntry
	// took is when each destination last receipted a message: an entry
	// is set aside only if its office took other mail since it was first
	// held, so an office that is down or hung gets nothing set aside.
	took map[string]time.Time
	// gone is when each destination with mail waiting was first found
	// missing from the registry (setAsideGone).
	gone map[string]time.Time
	// unreachable is when each destination's calls began to fail for
	// want of the office (not for what they carried), until one goes
	// through.
	unreachable map[string]time.Time
	// past holds the urgent records sent past the parent (sendPast):
	// the entry's upto_seq that an office above took. The entry stays
	// for the parent, which gets it when it is back.
	past     map[outboxKey]uint32
	pastBusy bool
	// pastNext is when the next call past the parent may go, pastBackoff
	// the wait after the last that no office above answered.
	pastNext    time.Time
	pastBackoff time.Duration
}

type outboxKey struct{ dest, number string }

// heldEntry is an outbox entry not sent for a while: the next office
// refused it, or a call carrying it alone failed (tries counts them), or
// it waits for its scanned files (files), which counts no try.
type heldEntry struct {
	upto  uint32 // the entry's upto_seq when it was held
	first time.Time
	until time.Time
	tries int
	why   string
	// files are the scanned files (SHA-256s) the message waits for,
	// being pushed to the office above: once they are there, or the
	// pusher may try again, it is looked at without waiting for until.
	// Nil when it does not wait for files.
	files []string
}

func newMailer(ml *Mail) *mailer {
	return &mailer{ml: ml, next: map[string]time.Time{}, backoff: map[string]time.Duration{}, busy: map[string]bool{},
		single: map[string]bool{}, held: map[outboxKey]*heldEntry{}, took: map[string]time.Time{}, gone: map[string]time.Time{},
		unreachable: map[string]time.Time{}, past: map[outboxKey]uint32{}, wake: make(chan struct{}, 1)}
}

// sendDue starts a call to each destination with entries due that has
// none in flight: up to deliverBatch entries, the urgent records (urgent
// reports, unsigned flags) first, then the rest in key order; entries
// held back are not due until their time, or, waiting for their files,
// until the files are there.
func (m *mailer) sendDue(ctx context.Context) {
	outbox := m.ml.cfg.FSM.Cases()
	now := m.ml.cfg.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.forgetGone(outbox)
	byDest := m.due(outbox, now)
	m.sendPast(ctx, outbox, now)
	for dest := range m.gone {
		if _, waiting := byDest[dest]; !waiting && !m.busy[dest] && !m.hasHeld(dest) {
			delete(m.gone, dest)
		}
	}
	m.ml.clearDeliveryErrors(func(dest string) bool {
		_, waiting := byDest[dest]
		return !waiting && !m.busy[dest] && !m.hasHeld(dest)
	})
	for dest, entries := range byDest {
		if m.busy[dest] {
			continue
		}
		if aside := m.setAsideGone(dest, entries, now); aside != nil {
			// In place of a call to dest: one at a time.
			m.busy[dest] = true
			m.wg.Add(1)
			go func() {
				defer m.wg.Done()
				m.ml.quarantine(ctx, aside)
				m.mu.Lock()
				m.busy[dest] = false
				m.mu.Unlock()
				select {
				case m.wake <- struct{}{}:
				default:
				}
			}()
			continue
		}
		if now.Before(m.next[dest]) {
			continue
		}
		m.busy[dest] = true
		single := m.single[dest]
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			r := m.ml.deliver(ctx, dest, entries, single)
			m.done(ctx, dest, r)
		}()
	}
}

// outboxReader is the outbox as the sender reads it, a part at a time
// (casebook.Book): what it sends next is at the front of each
// destination's messages, and reading them all for each call of
// deliverBatch made draining a backlog cost the square of its length.
type outboxReader interface {
	// OutboxDestinations is the offices with messages waiting.
	OutboxDestinations() []string
	// OutboxScan calls f with dest's messages from case number from on,
	// in case number order, until f returns false.
	OutboxScan(dest, from string, f func(*peerv1.OutboxEntry) bool)
	// OutboxEntry is dest's message of case number, if one waits.
	OutboxEntry(dest, number string) (*peerv1.OutboxEntry, bool)
}

// forgetGone forgets what no longer waits in the outbox, receipted or
// set aside, and a hold of a message that has new events since (a new
// message, tried afresh): one look each. Caller holds m.mu.
func (m *mailer) forgetGone(outbox outboxReader) {
	for k, h := range m.held {
		if e, ok := outbox.OutboxEntry(k.dest, k.number); !ok || e.GetUptoSeq() != h.upto {
			delete(m.held, k)
		}
	}
	for k := range m.past {
		if _, ok := outbox.OutboxEntry(k.dest, k.number); !ok {
			delete(m.past, k)
		}
	}
}

// due is what of outbox to send now, by destination: up to deliverBatch
// entries a destination, its urgent records first, then the rest in case
// number order. Each destination's urgent records are read from where
// their numbers begin (urgentPrefixes), the rest from the front, and no
// further than the call's worth found: what is read beyond the messages
// due is only those held back (and, in the database, the entries
// receipted lately, until badger compacts them away). A destination
// with a call in flight is not read: it is read again when the call
// ends, and every case command applied meanwhile (the receipts of that
// call among them) would read it for nothing. Caller holds m.mu.
func (m *mailer) due(outbox outboxReader, now time.Time) map[string][]*peerv1.OutboxEntry {
	byDest := map[string][]*peerv1.OutboxEntry{}
	for _, dest := range outbox.OutboxDestinations() {
		if m.busy[dest] {
			continue
		}
		var urgent []*peerv1.OutboxEntry
		for _, p := range urgentPrefixes {
			outbox.OutboxScan(dest, p, func(e *peerv1.OutboxEntry) bool {
				if len(urgent) == deliverBatch || !strings.HasPrefix(e.GetCaseNumber(), p) {
					return false
				}
				if isUrgentRecord(e.GetCaseNumber()) && m.isDue(dest, e, now) {
					urgent = append(urgent, e)
				}
				return true
			})
		}
		entries := urgent
		outbox.OutboxScan(dest, "", func(e *peerv1.OutboxEntry) bool {
			if len(entries) == deliverBatch {
				return false
			}
			if !isUrgentRecord(e.GetCaseNumber()) && m.isDue(dest, e, now) {
				entries = append(entries, e)
			}
			return true
		})
		if len(entries) > 0 {
			byDest[dest] = entries
		}
	}
	return byDest
}

// isDue reports whether e, waiting for dest, may be sent now: not held
// back, or held until a time gone by, or waiting for its scanned files
// and they are there. Caller holds m.mu.
func (m *mailer) isDue(dest string, e *peerv1.OutboxEntry, now time.Time) bool {
	k := outboxKey{dest, e.GetCaseNumber()}
	h, ok := m.held[k]
	switch {
	case !ok:
		return true
	case h.upto != e.GetUptoSeq():
		delete(m.held, k) // new events: a new message, tried afresh
		return true
	}
	return !now.Before(h.until) || (h.files != nil && m.ml.filesDue(dest, h.files))
}

// setAsideGone is what of dest's entries to set aside because dest is
// not in the registry (nil: none): an office the registry no longer
// holds (a county restored from a backup older than the office), whose
// nodes no office can find and whose mail nothing will take. Only once
// it has been missing for QuarantineAfter, on this leader: the registry
// of an office below the county may lag behind an office just made, to
// which a case from above is already handed on. An office in the
// registry whose nodes are not known (none announced yet, or the
// directory lagging) is not gone: its mail waits for them, as for an
// office that is down. Caller holds m.mu.
func (m *mailer) setAsideGone(dest string, entries []*peerv1.OutboxEntry, now time.Time) []*peerv1.QuarantinedEntry {
	if _, err := m.ml.cfg.FSM.Registry().Office(dest); !errors.Is(err, registry.ErrNotFound) {
		delete(m.gone, dest)
		return nil
	}
	since, ok := m.gone[dest]
	if !ok {
		m.gone[dest] = now
		return nil
	}
	if now.Sub(since) < m.ml.cfg.QuarantineAfter {
		return nil
	}
	aside := make([]*peerv1.QuarantinedEntry, len(entries))
	for i, e := range entries {
		aside[i] = &peerv1.QuarantinedEntry{Entry: e, AtUnixNano: now.UnixNano(),
			Reason: fmt.Sprintf("office %s is not in the registry (missing since %s): no office takes the message",
				dest, since.In(registry.CST).Format(time.DateTime))}
	}
	return aside
}

// done records the outcome of one call to dest (or of none, when every
// message due waited for its files).
func (m *mailer) done(ctx context.Context, dest string, r deliveryResult) {
	now := m.ml.cfg.Now()
	var setAside []*peerv1.QuarantinedEntry
	m.mu.Lock()
	m.busy[dest] = false
	if r.err == nil && r.sent > len(r.refused) {
		m.took[dest] = now
	}
	// A message waiting for its files is held back on its own, counting
	// no try, until its files are there or its pusher may try again
	// (filesDue), pushRetry at most. One whose file has failed to go up for
	// QuarantineAfter, while the office answered, is set aside naming
	// the file.
	for _, w := range r.waiting {
		k := outboxKey{dest, w.entry.GetCaseNumber()}
		if f := w.stuck; f != nil && f.tries >= 2 && !f.clock.IsZero() && now.Sub(f.clock) >= m.ml.cfg.QuarantineAfter &&
			(m.took[dest].After(f.clock) || f.answered.After(f.clock)) {
			setAside = append(setAside, &peerv1.QuarantinedEntry{Entry: w.entry,
				Reason: fmt.Sprintf("scanned file %s (%s) of case %s not delivered to office %s since %s (%d tries): %s",
					shortSHA(f.sha), f.name, k.number, dest, f.first.In(registry.CST).Format(time.DateTime), f.tries, f.why),
				AtUnixNano: now.UnixNano()})
			delete(m.held, k)
			continue
		}
		h := m.held[k]
		if h == nil || h.upto != w.entry.GetUptoSeq() {
			h = &heldEntry{upto: w.entry.GetUptoSeq(), first: now}
			m.held[k] = h
		}
		h.files, h.until = w.files, now.Add(pushRetry)
		if h.tries == 0 {
			h.why = "waiting for its scanned files"
		}
	}
	// The files the messages held back wait for: the pusher drops the
	// others (a case set aside, here or for another reason).
	var wanted map[string]bool
	if registry.ParentCode(m.ml.cfg.Office) == dest {
		wanted = map[string]bool{}
		for k, h := range m.held {
			if k.dest == dest {
				for _, sha := range h.files {
					wanted[sha] = true
				}
			}
		}
	}
	hold := func(e *peerv1.OutboxEntry, why string, unknownKind bool) {
		k := outboxKey{dest, e.GetCaseNumber()}
		h := m.held[k]
		if h == nil || h.upto != e.GetUptoSeq() || h.tries == 0 {
			// The first refusal (having waited for its files is none).
			h = &heldEntry{upto: e.GetUptoSeq(), first: now}
			m.held[k] = h
		}
		h.files = nil
		h.tries++
		if unknownKind && h.tries == 1 {
			m.ml.log.Warn("case message held until the next office runs a later release: it does not know a kind the message holds",
				"case", e.GetCaseNumber(), "to", dest, "err", why)
		}
		h.why = why
		h.until = now.Add(min(time.Duration(1<<min(h.tries, 12))*100*time.Millisecond, 5*time.Minute))
		if !unknownKind && h.tries >= 3 && now.Sub(h.first) >= m.ml.cfg.QuarantineAfter && m.took[dest].After(h.first) {
			setAside = append(setAside, &peerv1.QuarantinedEntry{Entry: e,
				Reason: fmt.Sprintf("not delivered to office %s since %s (%d tries): %s",
					dest, h.first.In(registry.CST).Format(time.DateTime), h.tries, why),
				AtUnixNano: now.UnixNano()})
			delete(m.held, k)
		}
	}
	for _, x := range r.refused {
		hold(x.entry, x.why, x.unknownKind)
	}
	called := r.sent > 0 || r.err != nil // else nothing went: nothing was learnt of dest
	if called && r.err == nil {
		delete(m.unreachable, dest)
		m.pastBackoff, m.pastNext = 0, time.Time{} // a new outage starts afresh
	} else if _, ok := m.unreachable[dest]; !ok && r.err != nil && !r.content {
		m.unreachable[dest] = now
	}
	switch {
	case !called:
	case r.err == nil:
		m.backoff[dest] = 0
		m.next[dest] = time.Time{}
		if r.sent > 0 {
			m.single[dest] = false
		}
	case r.content && r.sent == 1:
		// The call failed for what it carried, and it carried one message.
		hold(r.first, r.err.Error(), false)
	case r.content:
		m.single[dest] = true
	default:
		b := min(max(2*m.backoff[dest], 100*time.Millisecond), 5*time.Second)
		m.backoff[dest] = b
		m.next[dest] = now.Add(b)
	}
	m.mu.Unlock()
	setAside = append(setAside, r.oversize...)
	if wanted != nil {
		m.ml.keepPushing(dest, wanted)
	}
	if len(setAside) > 0 {
		m.ml.quarantine(ctx, setAside)
	}
	noted := r.err
	if noted == nil && len(r.refused) > 0 {
		noted = status.Errorf(codes.FailedPrecondition, "office %s refused %d of %d messages: %s",
			dest, len(r.refused), r.sent, r.refused[0].why)
	}
	if f := m.ml.pushFailure(dest); noted == nil && f != nil {
		noted = f.error(dest) // a file that cannot go up is dest's delivery error too
	}
	if called || noted != nil {
		m.ml.noteDelivery(dest, noted, now)
	}
	if r.err == nil || r.content {
		select {
		case m.wake <- struct{}{}:
		default:
		}
	}
}

// deliveryResult is what one call to a destination came to.
type deliveryResult struct {
	sent     int                 // messages the call carried
	first    *peerv1.OutboxEntry // the first of them
	refused  []refusal           // refused by the receiver, each with its reason
	oversize []*peerv1.QuarantinedEntry
	waiting  []waitingEntry // not sent: waiting for their scanned files
	err      error
	// content is set when the call failed for what it carried (too
	// large, not decodable, an internal error at the receiver), not
	// because the destination is unreachable.
	content bool
}

type refusal struct {
	entry *peerv1.OutboxEntry
	why   string
	// unknownKind: refused for a kind the receiver's release does not
	// know (later.go): held back, never set aside.
	unknownKind bool
}

// waitingEntry is an entry whose message waits for scanned files on
// their way to the office above.
type waitingEntry struct {
	entry *peerv1.OutboxEntry
	files []string     // the files not there yet (SHA-256s)
	stuck *pushFailure // the first of them whose pushes fail, if any
}

// contentError reports whether a failed call failed for what it carried.
// Only a gRPC status can say so: a local error (no node known, a failed
// dial) is about the destination. A call that timed out counts too: one
// message too slow to travel must not hold back the rest (sent one per
// call, it is held back alone; a hung office has nothing set aside, since
// it takes nothing else meanwhile).
func contentError(err error) bool {
	st, ok := status.FromError(err)
	if !ok {
		return false
	}
	switch st.Code() {
	case codes.ResourceExhausted, codes.InvalidArgument, codes.Internal, codes.DataLoss, codes.OutOfRange, codes.DeadlineExceeded:
		return true
	}
	return false
}

// deliver sends entries to dest, in one call of at most deliverBatchBytes
// (one message only when single), and drops those receipted. A message
// to the office above whose scanned files are not there yet is not sent:
// it waits (deliveryResult.waiting) while its files are pushed.
func (ml *Mail) deliver(ctx context.Context, dest string, entries []*peerv1.OutboxEntry, single bool) deliveryResult {
	var r deliveryResult
	req := &peerv1.DeliverCasesRequest{}
	var sent []*peerv1.OutboxEntry
	size := 0
	for _, e := range entries {
		msg, ok := ml.cfg.FSM.Cases().Message(e)
		if !ok {
			// Not whole: left in the outbox, another node's copy may go.
			// The read notes a damaged case (logged once, counted).
			ml.cfg.FSM.Cases().Read(e.GetCaseNumber())
			continue
		}
		n := proto.Size(msg)
		if n > ml.cfg.MaxCaseMessageBytes {
			r.oversize = append(r.oversize, &peerv1.QuarantinedEntry{Entry: e, AtUnixNano: ml.cfg.Now().UnixNano(),
				Reason: fmt.Sprintf("the message is %d bytes, more than the %d a case message may have", n, ml.cfg.MaxCaseMessageBytes)})
			continue
		}
		if registry.ParentCode(ml.cfg.Office) == dest {
			if files := ml.missingFiles(dest, msg); len(files) > 0 {
				r.waiting = append(r.waiting, waitingEntry{entry: e, files: files, stuck: ml.stuckFile(dest, files)})
				continue // waits for its scanned files, which are on their way
			}
		}
		if len(sent) > 0 && (single || size+n > deliverBatchBytes) {
			break
		}
		req.Messages = append(req.Messages, msg)
		sent = append(sent, e)
		size += n
	}
	if len(sent) == 0 {
		return r
	}
	r.sent, r.first = len(sent), sent[0]
	resp, err := ml.call(ctx, dest, req)
	if err != nil {
		r.err, r.content = err, contentError(err)
		return r
	}
	var acks []*peerv1.OutboxEntry
	for i, rc := range resp.GetReceipts() {
		if i >= len(sent) {
			break
		}
		if why := rc.GetRefused(); why != "" {
			// Held back and sent again later: a receiver whose registry
			// lags behind refuses until it has caught up. A refusal that
			// lasts sets the entry aside. One refused for a kind the
			// receiver's release does not know waits, for weeks perhaps,
			// until it is upgraded: said at warn once (hold), then here
			// at debug.
			unknownKind := rc.GetUnknownKind() || beforeRecords(req.Messages[i], why)
			level := slog.LevelWarn
			if unknownKind {
				level = slog.LevelDebug
			}
			ml.log.Log(ctx, level, "case message refused by the next office", "case", rc.GetCaseNumber(), "to", dest, "err", why)
			if strings.Contains(why, notArrivedWhole) {
				ml.forgetPushed(dest) // it lost what it held (a restore): ask again
			}
			r.refused = append(r.refused, refusal{sent[i], why, unknownKind})
			continue
		}
		if rc.GetHaveSeq() >= sent[i].GetUptoSeq() {
			acks = append(acks, sent[i])
		}
	}
	if len(acks) > 0 {
		actx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if _, err := ml.cfg.Owner.ProposeCase(actx, &peerv1.CaseCommand{AtUnixNano: ml.cfg.Now().UnixNano(),
			Op: &peerv1.CaseCommand_Ack{Ack: &peerv1.AckOutbox{Acks: acks}}}); err != nil {
			r.err = err
			return r
		}
	}
	return r
}

// call sends req to a node of office dest, trying each it knows until
// one answers.
func (ml *Mail) call(ctx context.Context, dest string, req *peerv1.DeliverCasesRequest) (*peerv1.DeliverCasesResponse, error) {
	var last error
	for _, t := range ml.cfg.Routes.OfficeTargets(dest) {
		conn, err := ml.cfg.Peers.Conn(t.Addr, t.Office)
		if err != nil {
			last = err
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, deliverTimeout)
		resp, err := peerv1.NewPeerClient(conn).DeliverCases(cctx, req)
		cancel()
		if err == nil {
			return resp, nil
		}
		last = err
		if status.Code(err) == codes.PermissionDenied || contentError(err) {
			break
		}
	}
	if last == nil {
		last = fmt.Errorf("no node of office %s known", dest)
		if _, err := ml.cfg.FSM.Registry().Office(dest); errors.Is(err, registry.ErrNotFound) {
			last = fmt.Errorf("no node of office %s known: the office is not in the registry", dest)
		}
	}
	return nil, last
}

// quarantine sets outbox entries aside through raft, with an alarm.
func (ml *Mail) quarantine(ctx context.Context, entries []*peerv1.QuarantinedEntry) {
	qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	v, err := ml.cfg.Owner.ProposeCase(qctx, &peerv1.CaseCommand{AtUnixNano: ml.cfg.Now().UnixNano(),
		Op: &peerv1.CaseCommand_Quarantine{Quarantine: &peerv1.QuarantineOutbox{Entries: entries}}})
	if err != nil {
		if ctx.Err() == nil && !errors.Is(err, raftgroup.ErrNotLeader) {
			ml.log.Warn("could not set case messages aside", "err", err)
		}
		return
	}
	done, _ := v.(*peerv1.QuarantineOutbox)
	for _, q := range done.GetEntries() {
		ml.log.Warn("case message set aside (quarantined): it will not be sent again until the case changes",
			"case", q.GetEntry().GetCaseNumber(), "to", q.GetEntry().GetDestOffice(), "reason", q.GetReason())
	}
}

// DeliveryError is the last failure to send case mail to an office.
type DeliveryError struct {
	Dest  string
	Err   string
	At    time.Time
	cause string // the gRPC code: a new cause is logged at warn
	file  bool   // a scanned file that cannot go up (fileError)
}

// noteDelivery records the outcome of a call to dest for the status page,
// and logs a failure at warn the first time its cause is seen.
func (ml *Mail) noteDelivery(dest string, err error, at time.Time) {
	ml.mu.Lock()
	defer ml.mu.Unlock()
	if ml.deliveryErrs == nil {
		ml.deliveryErrs = map[string]DeliveryError{}
	}
	if err == nil {
		if _, failing := ml.deliveryErrs[dest]; failing {
			ml.log.Info("case delivery works again", "to", dest)
		}
		delete(ml.deliveryErrs, dest)
		return
	}
	prev, failing := ml.deliveryErrs[dest]
	cause := status.Code(err).String()
	var fe *fileError
	file := errors.As(err, &fe)
	if file {
		cause = "scanned file"
	}
	if !failing || prev.cause != cause {
		ml.log.Warn("case delivery failed: retrying", "to", dest, "err", err)
	}
	ml.deliveryErrs[dest] = DeliveryError{Dest: dest, Err: err.Error(), At: at, cause: cause, file: file}
}

// hasHeld reports whether an entry for dest is held back. Caller holds m.mu.
func (m *mailer) hasHeld(dest string) bool {
	for k := range m.held {
		if k.dest == dest {
			return true
		}
	}
	return false
}

// clearDeliveryErrors drops the delivery errors of the destinations for
// which idle says nothing waits any more.
func (ml *Mail) clearDeliveryErrors(idle func(dest string) bool) {
	ml.mu.Lock()
	defer ml.mu.Unlock()
	for dest := range ml.deliveryErrs {
		if idle(dest) {
			delete(ml.deliveryErrs, dest)
		}
	}
}

// DeliveryErrors returns the last delivery error of each destination that
// is failing now, by destination: none on a node that does not lead.
func (ml *Mail) DeliveryErrors() []DeliveryError {
	ml.mu.Lock()
	defer ml.mu.Unlock()
	out := make([]DeliveryError, 0, len(ml.deliveryErrs))
	for _, e := range ml.deliveryErrs {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b DeliveryError) int { return strings.Compare(a.Dest, b.Dest) })
	return out
}
