package office

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casebook"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/reason"
	"github.com/yizhan-gov/yizhan/registry"
)

// PutAttachmentPart stores a part of a scanned file at this office (the
// leader only: see Leading), for an upload. An upload of a file held
// whole already, by an office that did not upload it, is a claim: the
// office sends it all again and becomes its uploader when the bytes hash
// to its name (knowing the hash of a scan is not having it). A part that
// is not the next one (sent again, or ahead of what is held) proposes
// nothing and answers what is held, so that the sender goes on from
// there. A part that carries bytes and does not end the file is at least
// casework.MinAttachmentPartBytes (TOO_SHORT on data). The last part of a
// file whose content does not hash to its name fails with
// ATTACHMENT_HASH: nothing of it is kept. The first part of a new file,
// or of a re-send of one held whole, is refused (SCAN_QUOTA, nothing
// proposed) when the office it is uploaded for would hold more than its
// quota of scans no case names yet (SetScanQuota).
func (s *Service) PutAttachmentPart(ctx context.Context, p *peerv1.PutAttachmentPart) (*peerv1.AttachmentProgress, error) {
	if err := s.Leading(); err != nil {
		return nil, err
	}
	if err := casework.CheckAttachmentPartSent(p.GetSha256(), p.GetSize(), p.GetContentType(), p.GetOffset(), p.GetData()); err != nil {
		return nil, err
	}
	book := s.fed.Cases()
	plan := planPart(book, p)
	if plan.answer != nil {
		return plan.answer, nil
	}
	var release func()
	if plan.quota {
		// A new file (or one begun again), or a re-send's first part: the
		// office's quota, checked and held until the part is applied (or
		// refused), so that uploads at once do not pass it together,
		// whenever their callers give up. The part is planned again once
		// the quota's slot is held: the book may have moved on while the
		// call waited (the same part, sent again by a client that gave up
		// on it, applied meanwhile), and the file counts once.
		var err error
		if release, err = s.scans.reserve(ctx, book, s.fed.Code(), p, func() bool {
			plan = planPart(book, p)
			return plan.quota
		}); err != nil {
			return nil, err
		}
		if plan.answer != nil {
			if release != nil {
				release()
			}
			return plan.answer, nil
		}
	}
	if plan.mend {
		// A re-send mends (its bytes kept aside, then put in the place of
		// the stored parts on every node) when the copy here is damaged:
		// its first part says so, for all of its parts.
		p = proto.CloneOf(p)
		p.Mend = true
		s.log.Info("a scanned file whose stored copy is damaged is being uploaded again: its bytes will replace the copy once they hash to its name",
			"file", p.GetSha256()[:12], "uploader_office", p.GetUploaderOffice())
	}
	cmd := &peerv1.CaseCommand{AtUnixNano: s.now().UnixNano(), Op: &peerv1.CaseCommand_PutAttachmentPart{PutAttachmentPart: p}}
	var (
		v   proto.Message
		err error
	)
	if release != nil {
		v, err = s.proposeHolding(ctx, cmd, release)
	} else {
		v, err = s.fed.ProposeCase(ctx, cmd)
	}
	if err != nil {
		return nil, err
	}
	got, _ := v.(*peerv1.AttachmentProgress)
	if p.GetOffset()+int64(len(p.GetData())) == p.GetSize() && !got.GetComplete() {
		return nil, registry.Invalid("sha256", reason.AttachmentHash, nil,
			"the file's content does not hash to %s: nothing of it is kept, upload it again", p.GetSha256())
	}
	return got, nil
}

// partPlan is what the leader makes of a part sent, from the book as it
// is: an answer without proposing anything, or a proposal, checked
// against the quota of its uploader office first (quota), its first
// part marked a mending (mend).
type partPlan struct {
	answer      *peerv1.AttachmentProgress
	quota, mend bool
}

// planPart plans part p of an upload at this office (PutAttachmentPart).
func planPart(book *casebook.Book, p *peerv1.PutAttachmentPart) partPlan {
	held, complete := book.AttachmentHeld(p.GetSha256())
	uploader := p.GetUploaderOffice()
	claimed := uploader == "" || book.AttachmentUploadedBy(p.GetSha256(), uploader)
	// A file held whole whose copy here is damaged (its bytes no longer
	// hash to its name: a disk fault) is mended by its uploader sending
	// it again, as a claim sends it. A mending under way goes on, whoever
	// leads now: begun while another node led, whose copy was damaged,
	// it mends that node's copy, even if the copy here is sound.
	damagedHere := func() bool { return errors.Is(book.CheckAttachment(p.GetSha256()), casebook.ErrAttachmentDamaged) }
	mend := complete && claimed && uploader != "" && (book.AttachmentClaim(p.GetSha256(), uploader) > 0 || damagedHere())
	// A part that is not the next (or carries nothing) proposes nothing:
	// of a file held in part, whoever sends it (the uploader is the
	// office whose part makes it whole); of one held whole, by an office
	// that holds it already.
	if held != nil && held.GetSize() == p.GetSize() && held.GetContentType() == p.GetContentType() && (claimed || !complete) && !mend &&
		(complete || held.GetOffset() != p.GetOffset() || len(p.GetData()) == 0) {
		return partPlan{answer: &peerv1.AttachmentProgress{Received: held.GetOffset(), Complete: complete}}
	}
	if held == nil && (p.GetOffset() != 0 || len(p.GetData()) == 0) {
		return partPlan{answer: &peerv1.AttachmentProgress{}}
	}
	resend := complete && (!claimed || mend)
	if resend {
		// A file held whole that this office did not upload: it claims it
		// by sending all of it again (the book checks the bytes hash to
		// its name); or one it did, whose copy here is damaged: it mends
		// it so. A part out of the re-send's order proposes nothing.
		if sent := book.AttachmentClaim(p.GetSha256(), uploader); p.GetOffset() != sent || len(p.GetData()) == 0 {
			return partPlan{answer: &peerv1.AttachmentProgress{Received: sent}}
		}
	}
	begins := !complete && p.GetOffset() == 0 && len(p.GetData()) > 0 &&
		(held == nil || held.GetSize() != p.GetSize() || held.GetContentType() != p.GetContentType())
	return partPlan{
		quota: (begins || resend && p.GetOffset() == 0) && uploader != "",
		// A re-send's first part says whether it mends, for all of its
		// parts: it does when the copy here is damaged.
		mend: resend && p.GetOffset() == 0 && (mend || damagedHere()),
	}
}

// proposeHolding proposes cmd, a part the quota let through, and lets go
// of the quota (release) only once the entry is applied, refused, or
// known never to be: raftgroup.Group.Apply returns when its context ends
// while the entry goes on to be applied, and the next upload's check must
// count it. The proposal is so detached from the caller, who is answered
// when ctx ends all the same.
func (s *Service) proposeHolding(ctx context.Context, cmd *peerv1.CaseCommand, release func()) (proto.Message, error) {
	type answer struct {
		v   proto.Message
		err error
	}
	done := make(chan answer, 1)
	go func() {
		defer release()
		// No deadline: the wait ends when raft resolves the entry (applied,
		// not taken within the group's time to take it, or the leadership
		// lost).
		v, err := s.fed.ProposeCase(context.WithoutCancel(ctx), cmd)
		done <- answer{v, err}
	}()
	select {
	case a := <-done:
		return a.v, a.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// checkAttachmentsHeld checks that this office holds, whole, every file
// the materials name, as they describe it, that staff of the actor's
// office uploaded it, and that its copy here is sound (ATTACHMENT_MISSING
// on the file's field otherwise): a filing or a resubmission names only
// what its own office uploaded, not a file it saw in another case; and a
// file whose copy here is damaged is uploaded again, which mends it,
// before a case names it (a case naming it would wait, unable to go up).
func (s *Service) checkAttachmentsHeld(ms []*yizhanv1.SubmittedMaterial, actorOffice string) error {
	var vs []registry.FieldViolation
	for i, m := range ms {
		for j, a := range m.GetFiles() {
			field := fmt.Sprintf("materials[%d].files[%d].sha256", i, j)
			held, complete := s.fed.Cases().AttachmentHeld(a.GetSha256())
			if !complete || held.GetSize() != a.GetSize() || held.GetContentType() != a.GetContentType() ||
				!s.fed.Cases().AttachmentUploadedBy(a.GetSha256(), actorOffice) {
				vs = append(vs, registry.FieldViolation{Field: field,
					Reason: reason.AttachmentMissing, Meta: reason.Meta{"sha256": a.GetSha256()},
					Description: fmt.Sprintf("office %s holds no whole file %s of %d bytes (%s): upload it first", s.fed.Code(), a.GetSha256(), a.GetSize(), a.GetContentType())})
				continue
			}
			if err := s.fed.Cases().CheckAttachment(a.GetSha256()); errors.Is(err, casebook.ErrAttachmentDamaged) {
				vs = append(vs, registry.FieldViolation{Field: field,
					Reason: reason.AttachmentMissing, Meta: reason.Meta{"sha256": a.GetSha256()},
					Description: fmt.Sprintf("the copy office %s holds of file %s is damaged (its bytes no longer hash to its name): upload it again, which mends it", s.fed.Code(), a.GetSha256())})
			} else if err != nil {
				return err
			}
		}
	}
	if len(vs) == 0 {
		return nil
	}
	return &registry.ValidationError{Violations: vs}
}

// DefaultScanQuota is how many bytes of scans no case names yet the staff
// of one office may hold at an office (those of its own office, and those
// they upload at another to go with a correction): about 25 files of the
// largest size (casework.MaxAttachmentBytes), a few hundred of a
// scanned page. Each goes into the raft log of every node of the office.
const DefaultScanQuota = 256 << 20

// scanQuota bounds the bytes of scans no case names yet that the staff of
// one office hold at this office (casebook's UnnamedBytes): the uploads'
// first parts past it are refused.
type scanQuota struct {
	// slot is held from the check of a new file's (or a re-send's) first
	// part until its entry is applied, refused, or known never to be
	// (proposeHolding), so that two uploads do not pass the check
	// together, whenever their callers give up: a new leader has applied
	// what its predecessor committed before it proposes (Leading).
	slot  chan struct{}
	limit atomic.Int64 // bytes; 0: DefaultScanQuota; negative: none
}

// SetScanQuota sets how many bytes of scans no case names yet the staff
// of one office may hold at this office: 0 is DefaultScanQuota, a
// negative number no limit.
func (s *Service) SetScanQuota(bytes int64) { s.scans.limit.Store(bytes) }

// reserve checks that office here may take the first part p of a new
// file, or of a re-send of one held whole, for p's uploader office, and
// returns with the quota's slot held (release lets go of it: once the
// part is applied, proposeHolding) or the refusal: SCAN_QUOTA
// (RESOURCE_EXHAUSTED), naming the limit and what the office holds; or
// ctx's error, when the caller gave up waiting for the slot (nothing
// proposed). Once the slot is held, still says whether p begins a file
// or a re-send yet: the book may have moved on while the call waited (the
// same part, sent again, applied meanwhile), and a part that begins
// nothing adds nothing to what the office holds. Nor does a re-send of a
// file that counts against the office already (its own, sent again to
// mend it: casebook's UnnamedBytes counts it once).
func (q *scanQuota) reserve(ctx context.Context, book *casebook.Book, here string, p *peerv1.PutAttachmentPart, still func() bool) (release func(), err error) {
	limit := q.limit.Load()
	if limit == 0 {
		limit = DefaultScanQuota
	}
	if limit < 0 {
		return nil, nil
	}
	select {
	case q.slot <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	release = func() { <-q.slot }
	if err := ctx.Err(); err != nil {
		release()
		return nil, err
	}
	if !still() {
		return release, nil // the part begins nothing any more: it adds nothing
	}
	held, files := book.UnnamedBytes(p.GetUploaderOffice())
	add := p.GetSize()
	if office, size, ok := book.UnnamedFile(p.GetSha256()); ok && office == p.GetUploaderOffice() {
		// The file counts against the office already: sent again to mend
		// it, it adds nothing; begun again, its new size replaces the old.
		if _, complete := book.AttachmentHeld(p.GetSha256()); complete {
			add = 0
		} else {
			add -= size
		}
	}
	if held+add <= limit {
		return release, nil
	}
	release()
	return nil, reason.Errorf(reason.ScanQuota, reason.Meta{"office": p.GetUploaderOffice(), "heldBytes": reason.Itoa(held),
		"limitBytes": reason.Itoa(limit), "heldMiB": mib(held), "limitMiB": mib(limit), "files": reason.Itoa(files)},
		"office %s's staff hold %s MiB of scans no case names yet at office %s (%d files), of a limit of %s MiB: this file's %s MiB would pass it; "+
			"file the cases that name them first (a file no case names is dropped a day after its first part)",
		p.GetUploaderOffice(), mib(held), here, files, mib(limit), mib(p.GetSize()))
}

// mib is n bytes in MiB, to a tenth.
func mib(n int64) string { return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) }

// UnnamedAttachmentTTL is how long a scanned file may wait for a case to
// name it: an upload abandoned, or never filed, goes after it.
const UnnamedAttachmentTTL = 24 * time.Hour

// SweepAttachments drops the files no case names a day after their first
// part came (the leader only): it proposes DropUnnamedAttachments while
// the book holds such files, each command dropping a bounded number. It
// returns how many files it dropped.
func (s *Service) SweepAttachments(ctx context.Context) (int, error) {
	if err := s.Leading(); err != nil {
		return 0, err
	}
	dropped := 0
	for range 100 { // bounded: at most 100 commands a sweep
		cutoff := s.now().Add(-UnnamedAttachmentTTL)
		if !s.fed.Cases().UnnamedAttachmentsBefore(cutoff) {
			return dropped, nil
		}
		// Not while a filing or an action that checked the scans it names
		// has not proposed its event (naming): its scans would be dropped
		// under it, and its case name scans the office no longer holds.
		s.naming.Lock()
		v, err := s.fed.ProposeCase(ctx, &peerv1.CaseCommand{AtUnixNano: s.now().UnixNano(),
			Op: &peerv1.CaseCommand_DropUnnamedAttachments{DropUnnamedAttachments: &peerv1.DropUnnamedAttachments{OlderThanUnixNano: cutoff.UnixNano()}}})
		s.naming.Unlock()
		if err != nil {
			return dropped, err
		}
		n, _ := v.(*peerv1.AttachmentProgress)
		dropped += int(n.GetReceived())
		if n.GetReceived() == 0 && n.GetComplete() {
			return dropped, nil // nothing more it can drop
		}
	}
	return dropped, nil
}
