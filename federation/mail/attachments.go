package mail

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/federation/pki"
	"github.com/yizhan-gov/yizhan/registry"
)

// Scanned files travel up the tree before the case messages that name
// them: the sender pushes each file the office above does not hold yet,
// a part at a time from what that office says it holds (a push cut off by
// a slow or broken link goes on from there next time), and sends the
// message only once every file is there; the office above refuses a
// message from below naming a file it does not hold. Down the tree
// nothing is pushed: a case's files come in where it was filed and went
// up with it.

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
	if held, complete := ml.cfg.FSM.Cases().AttachmentHeld(p.GetSha256()); held != nil &&
		(complete || held.GetOffset() != p.GetOffset() || len(p.GetData()) == 0) {
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

// missingAttachments lists the files of a message from below that this
// office does not hold whole ("" when it holds them all).
func (ml *Mail) missingAttachments(m *peerv1.CaseMessage) string {
	for _, a := range casework.Attachments(m.GetEvents()) {
		if _, complete := ml.cfg.FSM.Cases().AttachmentHeld(a.GetSha256()); !complete {
			return fmt.Sprintf("the file %s (%s) of case %s has not arrived here whole", a.GetSha256(), a.GetFileName(), m.GetCaseNumber())
		}
	}
	return ""
}

// pushAttachments makes sure the office above (dest, through conn's
// node) holds every file the messages name, pushing what it lacks.
// pushed remembers, per destination, the files known to be there.
func (ml *Mail) pushAttachments(ctx context.Context, client peerv1.PeerClient, dest string, msgs []*peerv1.CaseMessage) error {
	for _, m := range msgs {
		for _, a := range casework.Attachments(m.GetEvents()) {
			if ml.pushedAlready(dest, a.GetSha256()) {
				continue
			}
			if err := ml.pushAttachment(ctx, client, a); err != nil {
				// Not a gRPC status: a slow or cut link is the destination's
				// trouble, not the message's (contentError).
				return fmt.Errorf("push file %s of case %s to office %s: %v", a.GetSha256(), m.GetCaseNumber(), dest, err)
			}
			ml.notePushed(dest, a.GetSha256())
		}
	}
	return nil
}

// pushAttachment pushes one file from what the receiver holds on.
func (ml *Mail) pushAttachment(ctx context.Context, client peerv1.PeerClient, a *yizhanv1.Attachment) error {
	at := &peerv1.PutAttachmentPart{Sha256: a.GetSha256(), Size: a.GetSize(), ContentType: a.GetContentType()}
	for range 2 * (casework.MaxAttachmentBytes/casework.AttachmentPartBytes + 2) { // bounded: a part each, and a restart
		cctx, cancel := context.WithTimeout(ctx, deliverTimeout)
		got, err := client.PushAttachment(cctx, at)
		cancel()
		if err != nil {
			return err
		}
		if got.GetComplete() {
			return nil
		}
		data, err := ml.cfg.FSM.Cases().ReadAttachment(a.GetSha256(), got.GetReceived(), casework.AttachmentPartBytes)
		if err != nil {
			return err
		}
		if len(data) == 0 {
			return errors.New("nothing more to send, and the receiver does not hold it whole")
		}
		at = &peerv1.PutAttachmentPart{Sha256: a.GetSha256(), Size: a.GetSize(), ContentType: a.GetContentType(),
			Offset: got.GetReceived(), Data: data}
	}
	return errors.New("the receiver did not take the file")
}

func (ml *Mail) pushedAlready(dest, sha string) bool {
	ml.mu.Lock()
	defer ml.mu.Unlock()
	return ml.pushed[dest+"/"+sha]
}

func (ml *Mail) notePushed(dest, sha string) {
	ml.mu.Lock()
	defer ml.mu.Unlock()
	if ml.pushed == nil || len(ml.pushed) > 100000 {
		ml.pushed = map[string]bool{} // a cache: forgetting costs one question per file
	}
	ml.pushed[dest+"/"+sha] = true
}
