package federation

import (
	"bytes"
	"context"
	"fmt"
	"sync"

	"google.golang.org/protobuf/proto"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/auth"
	"github.com/yizhan-gov/yizhan/casebook"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/federation/mail"
	"github.com/yizhan-gov/yizhan/federation/raftgroup"
)

// The office's own path for writing its cases: one owner at a time
// appends events, through its raft group, each sealed on the one before
// and signed by the proposing node. The office service layer (package
// office) writes through it, and so do the case mail's automatic steps and
// receiver (federation/mail, as its Owner).

var _ mail.Owner = (*Office)(nil)

// Cases is this office's case book.
func (o *Office) Cases() *casebook.Book { return o.cfg.FSM.Cases() }

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
	sig, chain, err := o.cfg.Issuer.SignChain(e.GetHash())
	if err != nil {
		return err
	}
	e.Signature, e.SignerChain = sig, chain
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

// SignRecord signs hash, the hash of a record carried up beside the
// cases (a consultation, an urgent report, an acknowledgement), with this
// node's key, and returns the signature and the chain that proves it.
func (o *Office) SignRecord(hash []byte) (sig []byte, chain [][]byte, err error) {
	return o.cfg.Issuer.SignChain(hash)
}

// VerifyRecordSignature checks that a node of office signed hash, the
// hash of record what.
func (o *Office) VerifyRecordSignature(office, what string, hash, sig []byte, chain [][]byte) error {
	signer, leaf, err := o.verifyChain(chain)
	if err != nil {
		return fmt.Errorf("%s: signer certificate: %w", what, err)
	}
	if signer != office {
		return fmt.Errorf("%s is for office %s but was signed by a node of %s", what, office, signer)
	}
	if err := auth.VerifySignature(leaf, hash, sig); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// ProposeCase applies a case command through this office's raft group
// (leader only: raftgroup.ErrNotLeader elsewhere; none while this node's
// clock is known to be far from the county's: ClockOff).
func (o *Office) ProposeCase(ctx context.Context, cmd *peerv1.CaseCommand) (proto.Message, error) {
	v, _, err := o.ProposeCaseOnce(ctx, cmd)
	return v, err
}

// ProposeCaseOnce is ProposeCase for a command under a client's request
// ID (cmd.RequestId): replayed when the office had applied that request
// before the command reached the log (a retry racing its first attempt),
// and the answer is then the first application's; the command changed
// nothing.
func (o *Office) ProposeCaseOnce(ctx context.Context, cmd *peerv1.CaseCommand) (v proto.Message, replayed bool, err error) {
	// Every case command is dated by this node's clock, and the book
	// forgets its requests by those dates: none while it is far off.
	if err := o.ClockOff(); err != nil {
		return nil, false, err
	}
	res, err := o.cfg.Group.Apply(ctx, &peerv1.Command{Kind: &peerv1.Command_Cases{Cases: cmd}})
	if err != nil {
		return nil, false, err
	}
	return res.Value, res.Replayed, res.Err
}

// AppendEvents seals, signs and proposes events made by this office for
// a case it owns. The caller holds the case's lock.
func (o *Office) AppendEvents(ctx context.Context, number string, prevHash []byte, events ...*yizhanv1.CaseEvent) (*yizhanv1.Case, error) {
	c, _, err := o.AppendEventsOnce(ctx, raftgroup.Request{}, number, prevHash, events...)
	return c, err
}

// AppendEventsOnce is AppendEvents for a client's request r: applied once
// per request ID. When the office applied r already, before these events
// reached the log (a retry racing its first attempt, or sent after the
// first's caller gave up while it was in the log), it answers that
// application's case (which may be another case number, for a filing),
// replayed, and appends nothing.
func (o *Office) AppendEventsOnce(ctx context.Context, r raftgroup.Request, number string, prevHash []byte, events ...*yizhanv1.CaseEvent) (c *yizhanv1.Case, replayed bool, err error) {
	for _, e := range events {
		if err := o.SealAndSign(e, prevHash); err != nil {
			return nil, false, err
		}
		prevHash = e.GetHash()
	}
	v, replayed, err := o.ProposeCaseOnce(ctx, &peerv1.CaseCommand{AtUnixNano: o.cfg.Now().UnixNano(), RequestId: r.ID, RequestHash: r.Hash,
		Op: &peerv1.CaseCommand_Append{Append: &peerv1.AppendCaseEvents{CaseNumber: number, Events: events}}})
	if err != nil {
		return nil, false, err
	}
	c, _ = v.(*yizhanv1.Case)
	return c, replayed, nil
}
