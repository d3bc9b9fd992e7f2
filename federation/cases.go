package federation

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/auth"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/federation/pki"
	"github.com/yizhan-gov/yizhan/registry"
)

// Cases move between offices store-and-forward along the tree. An office
// appends events to the cases it owns through its raft group; applying
// them queues outbox entries (a mirror for the parent, a handoff for the
// next office). The leader sends each entry — the case's whole log — over
// mutual TLS; the receiver checks every event's signature, then applies
// the message through its own raft group and answers with a receipt; the
// sender drops the entry through raft. Sends repeat until receipted, and
// applying is idempotent by case and seq: nothing lost, nothing doubled.

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
)

// Cases is this office's case book.
func (o *Office) Cases() *casework.Book { return o.cfg.FSM.Cases() }

// caseLocks serialises the proposals for one case on the leader, so that
// each new event is sealed on top of the last one applied.
type caseLocks struct {
	mu    sync.Mutex // guards locks
	locks map[string]*caseLock
}

type caseLock struct {
	mu   sync.Mutex
	refs int
}

// Lock locks the case number and returns its unlock.
func (l *caseLocks) Lock(number string) func() {
	l.mu.Lock()
	if l.locks == nil {
		l.locks = map[string]*caseLock{}
	}
	cl := l.locks[number]
	if cl == nil {
		cl = &caseLock{}
		l.locks[number] = cl
	}
	cl.refs++
	l.mu.Unlock()
	cl.mu.Lock()
	return func() {
		cl.mu.Unlock()
		l.mu.Lock()
		cl.refs--
		if cl.refs == 0 {
			delete(l.locks, number)
		}
		l.mu.Unlock()
	}
}

// LockCase serialises work on one case on this node.
func (o *Office) LockCase(number string) func() { return o.caseLocks.Lock(number) }

// SealAndSign chains e to the case's last event and signs it with this
// node's key.
func (o *Office) SealAndSign(e *yizhanv1.CaseEvent, prevHash []byte) error {
	casework.Seal(e, prevHash)
	sig, err := o.cfg.Issuer.Sign(e.GetHash())
	if err != nil {
		return err
	}
	e.Signature = sig
	e.SignerChain = o.cfg.Issuer.Chain()
	return nil
}

// VerifyEventSignature checks that a node of the event's office signed it.
func (o *Office) VerifyEventSignature(e *yizhanv1.CaseEvent) error {
	office, leaf, err := o.verifyChain(e.GetSignerChain())
	if err != nil {
		return fmt.Errorf("event %d: signer certificate: %w", e.GetSeq(), err)
	}
	if office != e.GetOfficeCode() {
		return fmt.Errorf("event %d claims office %s but was signed by a node of %s", e.GetSeq(), e.GetOfficeCode(), office)
	}
	if !bytes.Equal(casework.HashEvent(e), e.GetHash()) {
		return fmt.Errorf("event %d: hash does not match its content", e.GetSeq())
	}
	if err := auth.VerifySignature(leaf, e.GetHash(), e.GetSignature()); err != nil {
		return fmt.Errorf("event %d: %w", e.GetSeq(), err)
	}
	return nil
}

// ProposeCase applies a case command through this office's raft group
// (leader only: ErrNotLeader elsewhere).
func (o *Office) ProposeCase(ctx context.Context, cmd *peerv1.CaseCommand) (proto.Message, error) {
	res, err := o.cfg.Group.Apply(ctx, &peerv1.Command{Kind: &peerv1.Command_Cases{Cases: cmd}})
	if err != nil {
		return nil, err
	}
	return res.Value, res.Err
}

// AppendEvents seals, signs and proposes events made by this office for
// a case it owns. The caller holds the case's lock.
func (o *Office) AppendEvents(ctx context.Context, number string, prevHash []byte, events ...*yizhanv1.CaseEvent) (*yizhanv1.Case, error) {
	return o.AppendEventsOnce(ctx, Request{}, number, prevHash, events...)
}

// AppendEventsOnce is AppendEvents for a client's request r: applied once
// per request ID. When the office applied r already, it answers that
// application's case (which may be another case number, for a filing
// retried while the first was in flight) and appends nothing.
func (o *Office) AppendEventsOnce(ctx context.Context, r Request, number string, prevHash []byte, events ...*yizhanv1.CaseEvent) (*yizhanv1.Case, error) {
	for _, e := range events {
		if err := o.SealAndSign(e, prevHash); err != nil {
			return nil, err
		}
		prevHash = e.GetHash()
	}
	v, err := o.ProposeCase(ctx, &peerv1.CaseCommand{AtUnixNano: time.Now().UnixNano(), RequestId: r.ID, RequestHash: r.Hash,
		Op: &peerv1.CaseCommand_Append{Append: &peerv1.AppendCaseEvents{CaseNumber: number, Events: events}}})
	if err != nil {
		return nil, err
	}
	c, _ := v.(*yizhanv1.Case)
	return c, nil
}

// isNeighbour reports whether office a is the parent or a child of b.
func isNeighbour(a, b string) bool {
	return a != "" && b != "" && (registry.ParentCode(a) == b || registry.ParentCode(b) == a)
}

// ReceiveCases serves Peer.DeliverCases: the sender must be a neighbouring
// office, speaking for itself; every event must be signed by a node of the
// office that made it. Messages that fail are refused whole and leave no
// trace; the others are applied through raft.
func (o *Office) ReceiveCases(ctx context.Context, req *peerv1.DeliverCasesRequest) (*peerv1.DeliverCasesResponse, error) {
	id, err := pki.PeerIdentity(ctx)
	if err != nil {
		return nil, status.Error(codes.Unauthenticated, err.Error())
	}
	if !isNeighbour(id.Office, o.cfg.Office) {
		return nil, status.Errorf(codes.PermissionDenied, "office %s is not next to office %s on the tree", id.Office, o.cfg.Office)
	}
	if !o.cfg.Group.IsLeader() {
		return nil, status.Errorf(codes.Unavailable, "%s is not the leader of office %s", o.cfg.Node, o.cfg.Office)
	}
	resp := &peerv1.DeliverCasesResponse{}
	refused := map[int]string{}
	var accepted []*peerv1.CaseMessage
	for i, m := range req.GetMessages() {
		if m.GetFromOffice() != id.Office {
			refused[i] = fmt.Sprintf("message claims to come from office %s, the certificate names %s", m.GetFromOffice(), id.Office)
			continue
		}
		held := o.Cases().Events(m.GetCaseNumber())
		for _, e := range m.GetEvents() {
			if n := int(e.GetSeq()); n >= 1 && n <= len(held) && bytes.Equal(held[n-1].GetHash(), e.GetHash()) {
				continue // held already, checked when it came
			}
			if err := o.VerifyEventSignature(e); err != nil {
				refused[i] = err.Error()
				break
			}
		}
		if _, bad := refused[i]; !bad {
			accepted = append(accepted, m)
		}
	}
	var receipts []*peerv1.CaseReceipt
	if len(accepted) > 0 {
		v, err := o.ProposeCase(ctx, &peerv1.CaseCommand{AtUnixNano: time.Now().UnixNano(),
			Op: &peerv1.CaseCommand_Receive{Receive: &peerv1.ReceiveCaseMessages{Messages: accepted}}})
		if errors.Is(err, ErrNotLeader) || errors.Is(err, ErrOutcomeUnknown) {
			// The sender sends again; applying is idempotent.
			return nil, status.Error(codes.Unavailable, err.Error())
		}
		if err != nil {
			return nil, status.Error(codes.Internal, err.Error())
		}
		r, _ := v.(*peerv1.DeliverCasesResponse)
		receipts = r.GetReceipts()
	}
	next := 0
	for i, m := range req.GetMessages() {
		if why, bad := refused[i]; bad {
			o.log.Warn("refused a case message", "case", m.GetCaseNumber(), "from", id.Office, "err", why)
			resp.Receipts = append(resp.Receipts, &peerv1.CaseReceipt{CaseNumber: m.GetCaseNumber(), Refused: why})
			continue
		}
		if next < len(receipts) {
			resp.Receipts = append(resp.Receipts, receipts[next])
		}
		next++
	}
	return resp, nil
}

// caseLoop runs on every node and works while it leads its office: it
// makes the events an owner makes by itself (receive a handed-on case,
// forward it toward the next step's office, close it after delivery) and
// sends the outbox. It wakes at each case command applied
// (FSM.CasesChanged), when a send finishes, and every 200 ms; registry
// changes do not wake it.
func (o *Office) caseLoop(ctx context.Context) {
	m := newMailer(o)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	defer m.wg.Wait()
	for {
		changed := o.cfg.FSM.CasesChanged()
		if o.LeaderReady() {
			o.autoActions(ctx)
			m.sendDue(ctx)
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-tick.C:
		case <-m.wake:
		}
	}
}

// autoActions makes the owner's own events for every case that needs one.
// Cases are stepped concurrently, up to autoParallel at a time, so that raft
// commits their events together rather than one after another.
func (o *Office) autoActions(ctx context.Context) {
	sem := make(chan struct{}, autoParallel)
	var wg sync.WaitGroup
	for _, number := range o.Cases().NeedsAction() {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := o.autoAct(ctx, number); err != nil && !errors.Is(err, ErrNotLeader) && ctx.Err() == nil {
				o.log.Warn("case automatic step", "case", number, "err", err)
			}
		}()
	}
	wg.Wait()
}

func (o *Office) autoAct(ctx context.Context, number string) error {
	unlock := o.LockCase(number)
	defer unlock()
	c, ok := o.Cases().Case(number)
	if !ok {
		return nil
	}
	events := o.Cases().Events(number)
	action, to, ok := casework.Pending(c, events, o.cfg.Office)
	if !ok {
		return nil
	}
	prev := events[len(events)-1].GetHash()
	e := casework.NewAutoEvent(c, action, to, o.cfg.Office, time.Now())
	actx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := o.AppendEvents(actx, number, prev, e)
	return err
}

// mailer sends the outbox, one call in flight per destination office,
// backing off from a destination that does not answer. A message is never
// allowed to hold back the ones behind it: calls are cut by bytes, a
// message too large to travel is set aside at once, and one that the next
// office refuses (or that makes its call fail) is held back on its own,
// and set aside after QuarantineAfter.
type mailer struct {
	o    *Office
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
}

type outboxKey struct{ dest, number string }

// heldEntry is an outbox entry not sent for a while: the next office
// refused it, or a call carrying it alone failed.
type heldEntry struct {
	upto  uint32 // the entry's upto_seq when it was held
	first time.Time
	until time.Time
	tries int
	why   string
}

func newMailer(o *Office) *mailer {
	return &mailer{o: o, next: map[string]time.Time{}, backoff: map[string]time.Duration{}, busy: map[string]bool{},
		single: map[string]bool{}, held: map[outboxKey]*heldEntry{}, wake: make(chan struct{}, 1)}
}

func (m *mailer) sendDue(ctx context.Context) {
	byDest := map[string][]*peerv1.OutboxEntry{}
	queued := map[outboxKey]bool{}
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, e := range m.o.Cases().Outbox() {
		k := outboxKey{e.GetDestOffice(), e.GetCaseNumber()}
		queued[k] = true
		if h, ok := m.held[k]; ok {
			if h.upto != e.GetUptoSeq() {
				delete(m.held, k) // new events: a new message, tried afresh
			} else if now.Before(h.until) {
				continue
			}
		}
		if len(byDest[k.dest]) < deliverBatch {
			byDest[k.dest] = append(byDest[k.dest], e)
		}
	}
	// Forget what no longer waits: receipted, or set aside.
	for k := range m.held {
		if !queued[k] {
			delete(m.held, k)
		}
	}
	m.o.clearDeliveryErrors(func(dest string) bool {
		_, waiting := byDest[dest]
		return !waiting && !m.busy[dest] && !m.hasHeld(dest)
	})
	for dest, entries := range byDest {
		if m.busy[dest] || now.Before(m.next[dest]) {
			continue
		}
		m.busy[dest] = true
		single := m.single[dest]
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			r := m.o.deliver(ctx, dest, entries, single)
			m.done(ctx, dest, r)
		}()
	}
}

// done records the outcome of one call to dest.
func (m *mailer) done(ctx context.Context, dest string, r deliveryResult) {
	now := time.Now()
	var setAside []*peerv1.QuarantinedEntry
	m.mu.Lock()
	m.busy[dest] = false
	hold := func(e *peerv1.OutboxEntry, why string) {
		k := outboxKey{dest, e.GetCaseNumber()}
		h := m.held[k]
		if h == nil || h.upto != e.GetUptoSeq() {
			h = &heldEntry{upto: e.GetUptoSeq(), first: now}
			m.held[k] = h
		}
		h.tries++
		h.why = why
		h.until = now.Add(min(time.Duration(1<<min(h.tries, 12))*100*time.Millisecond, 5*time.Minute))
		if h.tries >= 3 && now.Sub(h.first) >= m.o.cfg.QuarantineAfter {
			setAside = append(setAside, &peerv1.QuarantinedEntry{Entry: e,
				Reason: fmt.Sprintf("not delivered to office %s since %s (%d tries): %s",
					dest, h.first.In(registry.CST).Format(time.DateTime), h.tries, why),
				AtUnixNano: now.UnixNano()})
			delete(m.held, k)
		}
	}
	for _, x := range r.refused {
		hold(x.entry, x.why)
	}
	switch {
	case r.err == nil:
		m.backoff[dest] = 0
		m.next[dest] = time.Time{}
		if r.sent > 0 {
			m.single[dest] = false
		}
	case r.content && r.sent == 1:
		// The call failed for what it carried, and it carried one message.
		hold(r.first, r.err.Error())
	case r.content:
		m.single[dest] = true
	default:
		b := min(max(2*m.backoff[dest], 100*time.Millisecond), 5*time.Second)
		m.backoff[dest] = b
		m.next[dest] = now.Add(b)
	}
	m.mu.Unlock()
	setAside = append(setAside, r.oversize...)
	if len(setAside) > 0 {
		m.o.quarantine(ctx, setAside)
	}
	noted := r.err
	if noted == nil && len(r.refused) > 0 {
		noted = status.Errorf(codes.FailedPrecondition, "office %s refused %d of %d messages: %s",
			dest, len(r.refused), r.sent, r.refused[0].why)
	}
	m.o.noteDelivery(dest, noted, now)
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
	err      error
	// content is set when the call failed for what it carried (too
	// large, not decodable, an internal error at the receiver), not
	// because the destination is unreachable.
	content bool
}

type refusal struct {
	entry *peerv1.OutboxEntry
	why   string
}

// contentError reports whether a failed call failed for what it carried.
func contentError(err error) bool {
	switch status.Code(err) {
	case codes.ResourceExhausted, codes.InvalidArgument, codes.Internal, codes.Unknown, codes.DataLoss, codes.OutOfRange:
		return true
	}
	return false
}

// deliver sends entries to dest, in one call of at most deliverBatchBytes
// (one message only when single), and drops those receipted.
func (o *Office) deliver(ctx context.Context, dest string, entries []*peerv1.OutboxEntry, single bool) deliveryResult {
	var r deliveryResult
	req := &peerv1.DeliverCasesRequest{}
	var sent []*peerv1.OutboxEntry
	size := 0
	for _, e := range entries {
		msg, ok := o.Cases().Message(e)
		if !ok {
			continue
		}
		n := proto.Size(msg)
		if n > o.cfg.MaxCaseMessageBytes {
			r.oversize = append(r.oversize, &peerv1.QuarantinedEntry{Entry: e, AtUnixNano: time.Now().UnixNano(),
				Reason: fmt.Sprintf("the message is %d bytes, more than the %d a case message may have", n, o.cfg.MaxCaseMessageBytes)})
			continue
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
	var resp *peerv1.DeliverCasesResponse
	var last error
	for _, t := range o.officeTargets(dest) {
		conn, err := o.cfg.Peers.Conn(t.addr, t.office)
		if err != nil {
			last = err
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, deliverTimeout)
		resp, err = peerv1.NewPeerClient(conn).DeliverCases(cctx, req)
		cancel()
		if err == nil {
			break
		}
		last = err
		if status.Code(err) == codes.PermissionDenied || contentError(err) {
			break
		}
	}
	if resp == nil {
		if last == nil {
			last = fmt.Errorf("no node of office %s known", dest)
		}
		r.err, r.content = last, contentError(last)
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
			// lasts sets the entry aside.
			o.log.Warn("case message refused by the next office", "case", rc.GetCaseNumber(), "to", dest, "err", why)
			r.refused = append(r.refused, refusal{sent[i], why})
			continue
		}
		if rc.GetHaveSeq() >= sent[i].GetUptoSeq() {
			acks = append(acks, sent[i])
		}
	}
	if len(acks) > 0 {
		actx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if _, err := o.ProposeCase(actx, &peerv1.CaseCommand{AtUnixNano: time.Now().UnixNano(),
			Op: &peerv1.CaseCommand_Ack{Ack: &peerv1.AckOutbox{Acks: acks}}}); err != nil {
			r.err = err
			return r
		}
	}
	return r
}

// quarantine sets outbox entries aside through raft, with an alarm.
func (o *Office) quarantine(ctx context.Context, entries []*peerv1.QuarantinedEntry) {
	qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	v, err := o.ProposeCase(qctx, &peerv1.CaseCommand{AtUnixNano: time.Now().UnixNano(),
		Op: &peerv1.CaseCommand_Quarantine{Quarantine: &peerv1.QuarantineOutbox{Entries: entries}}})
	if err != nil {
		if ctx.Err() == nil && !errors.Is(err, ErrNotLeader) {
			o.log.Warn("could not set case messages aside", "err", err)
		}
		return
	}
	done, _ := v.(*peerv1.QuarantineOutbox)
	for _, q := range done.GetEntries() {
		o.log.Warn("case message set aside (quarantined): it will not be sent again until the case changes",
			"case", q.GetEntry().GetCaseNumber(), "to", q.GetEntry().GetDestOffice(), "reason", q.GetReason())
	}
}

// DeliveryError is the last failure to send case mail to an office.
type DeliveryError struct {
	Dest  string
	Err   string
	At    time.Time
	cause string // the gRPC code: a new cause is logged at warn
}

// noteDelivery records the outcome of a call to dest for the status page,
// and logs a failure at warn the first time its cause is seen.
func (o *Office) noteDelivery(dest string, err error, at time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.deliveryErrs == nil {
		o.deliveryErrs = map[string]DeliveryError{}
	}
	if err == nil {
		if _, failing := o.deliveryErrs[dest]; failing {
			o.log.Info("case delivery works again", "to", dest)
		}
		delete(o.deliveryErrs, dest)
		return
	}
	prev, failing := o.deliveryErrs[dest]
	cause := status.Code(err).String()
	if !failing || prev.cause != cause {
		o.log.Warn("case delivery failed: retrying", "to", dest, "err", err)
	}
	o.deliveryErrs[dest] = DeliveryError{Dest: dest, Err: err.Error(), At: at, cause: cause}
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
func (o *Office) clearDeliveryErrors(idle func(dest string) bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for dest := range o.deliveryErrs {
		if idle(dest) {
			delete(o.deliveryErrs, dest)
		}
	}
}

// DeliveryErrors returns the last delivery error of each destination that
// is failing now, by destination.
func (o *Office) DeliveryErrors() []DeliveryError {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]DeliveryError, 0, len(o.deliveryErrs))
	for _, e := range o.deliveryErrs {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b DeliveryError) int { return strings.Compare(a.Dest, b.Dest) })
	return out
}

// officeTargets lists the nodes of an office: from the directory, then,
// for the parent, the configured upstream addresses.
func (o *Office) officeTargets(office string) []target {
	var ts []target
	seen := map[string]bool{}
	for _, n := range shuffled(o.reg.Nodes(office)) {
		if a := n.GetPeerAddress(); a != "" && !seen[a] {
			seen[a] = true
			ts = append(ts, target{a, office})
		}
	}
	if office == registry.ParentCode(o.cfg.Office) {
		for _, a := range o.cfg.Upstream {
			if !seen[a] {
				seen[a] = true
				ts = append(ts, target{a, office})
			}
		}
	}
	return ts
}

// ForwardToOffice sends a request to a node of another office, known from
// the directory.
func (o *Office) ForwardToOffice(ctx context.Context, office string, call func(ctx context.Context, conn *grpc.ClientConn) error) error {
	return o.forwardTo(ctx, o.officeTargets(office), call)
}
