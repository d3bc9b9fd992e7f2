package mail

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/federation/pki"
	"github.com/yizhan-gov/yizhan/registry"
)

// Scanned files travel up the tree before the case messages that name
// them. A message to the office above waits in the outbox until every
// file named by the events of this office's subtree is there; meanwhile
// a pusher (one per destination, in the background) pushes what the
// office above lacks, a part at a time from what it says it holds, so a
// push cut off by a slow or broken line goes on from there. Other
// messages — other cases, urgent reports — go on at once: a file never
// holds back anything but its own case. The office above refuses a
// message from below naming, in events of the sender's subtree, a file
// it does not hold; files named by events from above came down with the
// case's copy and are not asked for. Down the tree nothing is pushed.

// pushPartTimeout bounds one part's push: 512 KiB over a village's slow
// line (about 70 kbit/s at the limit).
const pushPartTimeout = time.Minute

// pushRetry is how long a pusher waits after a failure before it tries
// the destination again.
const pushRetry = 5 * time.Second

// ReceiveAttachment serves Peer.PushAttachment: a part of a file from an
// office below, applied through raft (casebook stores it in order and
// checks the whole file's hash).
func (ml *Mail) ReceiveAttachment(ctx context.Context, p *peerv1.PutAttachmentPart) (*peerv1.AttachmentProgress, error) {
	id, err := pki.PeerIdentity(ctx)
	if err != nil {
		return nil, status.Error(codes.Unauthenticated, err.Error())
	}
	if registry.ParentCode(id.Office) != ml.cfg.Office {
		return nil, status.Errorf(codes.PermissionDenied, "office %s is not below office %s", id.Office, ml.cfg.Office)
	}
	if !ml.cfg.Group.IsLeader() {
		return nil, status.Errorf(codes.Unavailable, "%s is not the leader of office %s", ml.cfg.Node, ml.cfg.Office)
	}
	if err := casework.CheckAttachmentPart(p.GetSha256(), p.GetSize(), p.GetContentType(), p.GetOffset(), p.GetData()); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	p = proto.CloneOf(p)
	p.UploaderOffice = id.Office // the office below, whatever it says
	if held, complete := ml.cfg.FSM.Cases().AttachmentHeld(p.GetSha256()); held != nil && held.GetSize() == p.GetSize() &&
		held.GetContentType() == p.GetContentType() && (complete || held.GetOffset() != p.GetOffset() || len(p.GetData()) == 0) {
		return &peerv1.AttachmentProgress{Received: held.GetOffset(), Complete: complete}, nil
	} else if held == nil && len(p.GetData()) == 0 {
		return &peerv1.AttachmentProgress{}, nil
	}
	v, err := ml.cfg.Owner.ProposeCase(ctx, &peerv1.CaseCommand{AtUnixNano: ml.cfg.Now().UnixNano(),
		Op: &peerv1.CaseCommand_PutAttachmentPart{PutAttachmentPart: p}})
	if err != nil {
		return nil, status.Error(codes.Unavailable, err.Error())
	}
	got, _ := v.(*peerv1.AttachmentProgress)
	return got, nil
}

// filesFrom lists the files named by the message's events appended in
// office's subtree (office or below), each once.
func filesFrom(office string, m *peerv1.CaseMessage) []*yizhanv1.Attachment {
	var events []*yizhanv1.CaseEvent
	for _, e := range m.GetEvents() {
		if registry.IsAncestorOrSelf(office, e.GetOfficeCode()) {
			events = append(events, e)
		}
	}
	return casework.Attachments(events)
}

// missingAttachments says which file of a message from office below this
// office does not hold whole ("" when it holds them all).
func (ml *Mail) missingAttachments(below string, m *peerv1.CaseMessage) string {
	for _, a := range filesFrom(below, m) {
		if _, complete := ml.cfg.FSM.Cases().AttachmentHeld(a.GetSha256()); !complete {
			return fmt.Sprintf("the file %s (%s) of case %s %s", a.GetSha256(), a.GetFileName(), m.GetCaseNumber(), notArrivedWhole)
		}
	}
	return ""
}

// filesThere reports whether the office above (dest) holds every file
// the message names that it must: if not, the pusher is asked to push
// them, and the message waits.
func (ml *Mail) filesThere(dest string, m *peerv1.CaseMessage) bool {
	var missing []*yizhanv1.Attachment
	ml.mu.Lock()
	for _, a := range filesFrom(ml.cfg.Office, m) {
		if !ml.pushed[dest+"/"+a.GetSha256()] {
			missing = append(missing, a)
		}
	}
	ml.mu.Unlock()
	if len(missing) == 0 {
		return true
	}
	ml.push(dest, missing)
	return false
}

// pusher pushes files to one office above, one at a time.
type pusher struct {
	queue   []*yizhanv1.Attachment
	queued  map[string]bool
	running bool
	after   time.Time // no attempt before, after a failure
}

// push queues files for dest and starts its pusher if it is not running.
func (ml *Mail) push(dest string, files []*yizhanv1.Attachment) {
	ml.mu.Lock()
	defer ml.mu.Unlock()
	if ml.pushers == nil {
		ml.pushers = map[string]*pusher{}
	}
	p := ml.pushers[dest]
	if p == nil {
		p = &pusher{queued: map[string]bool{}}
		ml.pushers[dest] = p
	}
	for _, a := range files {
		if !p.queued[a.GetSha256()] {
			p.queued[a.GetSha256()] = true
			p.queue = append(p.queue, a)
		}
	}
	if p.running || ml.cfg.Now().Before(p.after) || ml.runCtx == nil {
		return
	}
	p.running = true
	go ml.runPusher(ml.runCtx, dest, p)
}

// runPusher pushes dest's queue until it is empty or a push fails.
func (ml *Mail) runPusher(ctx context.Context, dest string, p *pusher) {
	for {
		ml.mu.Lock()
		if len(p.queue) == 0 || ctx.Err() != nil {
			p.running = false
			ml.mu.Unlock()
			return
		}
		a := p.queue[0]
		ml.mu.Unlock()
		err := ml.pushAttachment(ctx, dest, a)
		ml.mu.Lock()
		if err != nil {
			p.running, p.after = false, ml.cfg.Now().Add(pushRetry)
			ml.mu.Unlock()
			ml.log.Warn("scanned file not pushed to the office above yet", "file", a.GetSha256(), "to", dest, "err", err)
			return
		}
		p.queue = p.queue[1:]
		delete(p.queued, a.GetSha256())
		if ml.pushed == nil || len(ml.pushed) > 100000 {
			ml.pushed = map[string]bool{} // a cache: forgetting costs one question per file
		}
		ml.pushed[dest+"/"+a.GetSha256()] = true
		ml.mu.Unlock()
		ml.wakeSender() // the messages waiting for it may go
	}
}

// pushAttachment pushes one file to dest from what its leader holds on.
func (ml *Mail) pushAttachment(ctx context.Context, dest string, a *yizhanv1.Attachment) error {
	if _, complete := ml.cfg.FSM.Cases().AttachmentHeld(a.GetSha256()); !complete {
		return fmt.Errorf("this office does not hold file %s whole", a.GetSha256())
	}
	var last error
	for _, t := range ml.cfg.Routes.OfficeTargets(dest) {
		conn, err := ml.cfg.Peers.Conn(t.Addr, t.Office)
		if err != nil {
			last = err
			continue
		}
		if last = ml.pushTo(ctx, peerv1.NewPeerClient(conn), a); last == nil {
			return nil
		}
	}
	if last == nil {
		last = fmt.Errorf("no node of office %s known", dest)
	}
	return last
}

// pushTo pushes one file through client, a part at a time.
func (ml *Mail) pushTo(ctx context.Context, client peerv1.PeerClient, a *yizhanv1.Attachment) error {
	at := &peerv1.PutAttachmentPart{Sha256: a.GetSha256(), Size: a.GetSize(), ContentType: a.GetContentType()}
	held := int64(-1)
	for range 2 * (casework.MaxAttachmentBytes/casework.AttachmentPartBytes + 2) { // bounded: a part each, and a restart
		cctx, cancel := context.WithTimeout(ctx, pushPartTimeout)
		got, err := client.PushAttachment(cctx, at)
		cancel()
		if err != nil {
			return err
		}
		if got.GetComplete() {
			return nil
		}
		if got.GetReceived() <= held && len(at.GetData()) > 0 && got.GetReceived() != 0 {
			return fmt.Errorf("the office above took nothing more of file %s after %d bytes", a.GetSha256(), held)
		}
		held = got.GetReceived()
		data, err := ml.cfg.FSM.Cases().ReadAttachment(a.GetSha256(), held, casework.AttachmentPartBytes)
		if err != nil {
			return err
		}
		if len(data) == 0 {
			return errors.New("nothing more to send, and the office above does not hold it whole")
		}
		at = &peerv1.PutAttachmentPart{Sha256: a.GetSha256(), Size: a.GetSize(), ContentType: a.GetContentType(), Offset: held, Data: data}
	}
	return errors.New("the office above did not take the file")
}

// wakeSender tells Run that messages waiting for their files may go.
func (ml *Mail) wakeSender() {
	select {
	case ml.wake <- struct{}{}:
	default:
	}
}

// notArrivedWhole ends the refusal of a message whose files the office
// above lacks: the sender forgets what it thought was there.
const notArrivedWhole = "has not arrived here whole"

// forgetPushed forgets which files dest holds.
func (ml *Mail) forgetPushed(dest string) {
	ml.mu.Lock()
	defer ml.mu.Unlock()
	for k := range ml.pushed {
		if strings.HasPrefix(k, dest+"/") {
			delete(ml.pushed, k)
		}
	}
}
