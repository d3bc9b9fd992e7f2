package mail

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casebook"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/federation/pki"
	"github.com/yizhan-gov/yizhan/reason"
	"github.com/yizhan-gov/yizhan/registry"
)

// Scanned files travel up the tree before the case messages that name
// them. A message to the office above waits in the outbox until every
// file named by the events of this office's subtree is there; meanwhile
// a pusher (one per destination, in the background) pushes what the
// office above lacks, a part at a time from what it says it holds, so a
// push cut off by a slow or broken line goes on from there. A part that
// does not arrive in its time is sent again in smaller parts, down to
// minPushPart: a slow line takes small parts, a faster one grows them
// back. Other messages — other cases, urgent reports — go on at once: a
// message waiting for its files is held back on its own (the mailer's
// held entries, counting no try) until its files are there or its pusher
// may try again, and a file never holds back anything but its own case.
// A file that keeps failing is the destination's delivery error, and
// after QuarantineAfter (the office answering meanwhile) the case waiting
// for it is set aside with an alarm naming it; a push the office above
// refuses for what it says (refusedForGood: it would refuse it again) is
// its answer. A file the office above holds in part as another size or
// type is not held there for the push, which begins it again. The
// office above refuses a message from below naming, in events of the
// sender's subtree, a file it does not hold; files named by events from
// above came down with the case's copy and are not asked for. Down the
// tree nothing is pushed.

// pushPartTimeout bounds one part's push, whatever its size: 512 KiB
// over a line of about 70 kbit/s, 32 KiB (minPushPart) over one of
// about 4.4 kbit/s. A shorter QuarantineAfter shortens it (partTimeout).
const pushPartTimeout = time.Minute

// minPushPart is the smallest part a push is cut into after parts did not
// arrive in their time: a part this small that does not arrive is a
// failure of the push.
const minPushPart = 32 << 10

// pushRetry is how long a pusher waits after a failure before it tries
// the destination again, and how long a message waiting for its files
// is held back at most before it is looked at again (sooner when its
// files have arrived, or its pusher may try again: filesDue).
const pushRetry = 5 * time.Second

// ReceiveAttachment serves Peer.PushAttachment: a part of a file from an
// office below, applied through raft (casebook stores it in order and
// checks the whole file's hash). A part refused for what it says (the
// file held whole here as another size or type) keeps the book's code
// and reason (FAILED_PRECONDITION), which the sender takes for this
// office's answer; a failure to apply it is UNAVAILABLE.
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
	if err := casework.CheckAttachmentPartSent(p.GetSha256(), p.GetSize(), p.GetContentType(), p.GetOffset(), p.GetData()); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	p = proto.CloneOf(p)
	p.UploaderOffice = id.Office // the office below, whatever it says
	// A push: the file counts against no office's quota here (casebook),
	// and is never a mending (this office's leader decides that).
	p.Pushed, p.Mend = true, false
	if held, complete := ml.cfg.FSM.Cases().AttachmentHeld(p.GetSha256()); held != nil && held.GetSize() == p.GetSize() &&
		held.GetContentType() == p.GetContentType() && (complete || held.GetOffset() != p.GetOffset() || len(p.GetData()) == 0) {
		return &peerv1.AttachmentProgress{Received: held.GetOffset(), Complete: complete}, nil
	} else if held == nil && len(p.GetData()) == 0 {
		return &peerv1.AttachmentProgress{}, nil
	} else if held != nil && !complete && (held.GetSize() != p.GetSize() || held.GetContentType() != p.GetContentType()) &&
		(p.GetOffset() != 0 || len(p.GetData()) == 0) {
		// Held in part as another size or type (an upload begun here with
		// its size mistyped, or a stranger's, to block the file): nothing
		// of the file as pushed is here. The push goes on from the start,
		// and its first part begins the file again (casebook).
		return &peerv1.AttachmentProgress{}, nil
	}
	v, err := ml.cfg.Owner.ProposeCase(ctx, &peerv1.CaseCommand{AtUnixNano: ml.cfg.Now().UnixNano(),
		Op: &peerv1.CaseCommand_PutAttachmentPart{PutAttachmentPart: p}})
	if e := reason.Of(err); e != nil && refusedForGood(reason.Code(e.Reason)) {
		// The book refuses the part for what it says (the file held whole
		// as another size or type): sent again, it is refused again. The
		// sender takes it for this office's answer (pushTo).
		return nil, reason.Status(e.Reason, err.Error(), e.Meta, 0).Err()
	}
	if err != nil {
		// Not leading any more, a slow or stopping raft: nothing of it is
		// the part's fault, and the sender sends it again.
		return nil, status.Error(codes.Unavailable, err.Error())
	}
	got, _ := v.(*peerv1.AttachmentProgress)
	return got, nil
}

// refusedForGood reports whether a push refused with code is refused for
// what it carries, and would be again however often it is sent.
func refusedForGood(code codes.Code) bool {
	return code == codes.InvalidArgument || code == codes.FailedPrecondition || code == codes.OutOfRange
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

// missingFiles is what of the files the message names the office above
// (dest) must hold and is not known to hold, by SHA-256: the pusher is
// asked to push them, and the message waits (none: it may go).
func (ml *Mail) missingFiles(dest string, m *peerv1.CaseMessage) []string {
	var missing []*yizhanv1.Attachment
	ml.mu.Lock()
	for _, a := range filesFrom(ml.cfg.Office, m) {
		if !ml.pushed[dest+"/"+a.GetSha256()] {
			missing = append(missing, a)
		}
	}
	ml.mu.Unlock()
	if len(missing) == 0 {
		return nil
	}
	ml.push(dest, m.GetCaseNumber(), missing)
	shas := make([]string, len(missing))
	for i, a := range missing {
		shas[i] = a.GetSha256()
	}
	return shas
}

// filesDue reports whether a message waiting for files (SHA-256s) to
// go to dest is to be looked at again: they are there, or dest's pusher
// is idle and may try again (the message's look starts it).
func (ml *Mail) filesDue(dest string, files []string) bool {
	ml.mu.Lock()
	defer ml.mu.Unlock()
	if p := ml.pushers[dest]; p == nil || (!p.running && !ml.cfg.Now().Before(p.after)) {
		return true
	}
	for _, sha := range files {
		if !ml.pushed[dest+"/"+sha] {
			return false
		}
	}
	return true
}

// pusher pushes files to one office above, one at a time.
type pusher struct {
	queue   []*yizhanv1.Attachment
	queued  map[string]bool
	cases   map[string]string // by SHA-256: a case waiting for the file
	running bool
	after   time.Time // no attempt before, after a failure
	// part is the size of the parts pushed (0: casework.AttachmentPartBytes):
	// halved after a part did not arrive in its time, doubled after
	// parts that arrived quickly. Only the running push touches it.
	part int
	// failing is, by SHA-256, each file whose pushes fail, since the
	// first failure after it last made progress.
	failing map[string]*pushFailure
	// answered is when the office last answered a push call: it is there,
	// even if a file cannot reach it.
	answered time.Time
}

// pushFailure is a file that could not be pushed to an office above.
type pushFailure struct {
	sha, name, number string // the file, and the case waiting for it
	first             time.Time
	// clock is the first failure at which the office had answered the
	// push (its calls went through, the file did not): the quarantine
	// time runs from it, not from an outage of the office, nor from
	// failures before a part last arrived.
	clock    time.Time
	tries    int
	why      string
	answered time.Time // the pusher's answered, when looked at
}

// error is the failure as the destination's delivery error.
func (f *pushFailure) error(dest string) error {
	return &fileError{fmt.Sprintf("scanned file %s (%s) of case %s not delivered to office %s: %s",
		shortSHA(f.sha), f.name, f.number, dest, f.why)}
}

// fileError is a scanned file's failure to go up, shown as its
// destination's delivery error.
type fileError struct{ msg string }

func (e *fileError) Error() string { return e.msg }

func shortSHA(sha string) string { return sha[:min(len(sha), 12)] }

// push queues files, which case number waits for, for dest and starts
// its pusher if it is not running.
func (ml *Mail) push(dest, number string, files []*yizhanv1.Attachment) {
	ml.mu.Lock()
	defer ml.mu.Unlock()
	if ml.pushers == nil {
		ml.pushers = map[string]*pusher{}
	}
	p := ml.pushers[dest]
	if p == nil {
		p = &pusher{queued: map[string]bool{}, cases: map[string]string{}, failing: map[string]*pushFailure{}}
		ml.pushers[dest] = p
	}
	for _, a := range files {
		if !p.queued[a.GetSha256()] {
			p.queued[a.GetSha256()] = true
			p.queue = append(p.queue, a)
		}
		if p.cases[a.GetSha256()] == "" {
			p.cases[a.GetSha256()] = number
		}
	}
	if p.running || ml.cfg.Now().Before(p.after) || ml.runCtx == nil {
		return
	}
	p.running = true
	go ml.runPusher(ml.runCtx, dest, p)
}

// runPusher pushes dest's queue until it is empty or a push fails. A
// file that failed goes to the back of the queue: the next attempt
// begins with the file behind it, which one that cannot go up does not
// hold back.
func (ml *Mail) runPusher(ctx context.Context, dest string, p *pusher) {
	for {
		ml.mu.Lock()
		if len(p.queue) == 0 || ctx.Err() != nil {
			p.running = false
			ml.mu.Unlock()
			return
		}
		a := p.queue[0]
		part := cmp.Or(p.part, casework.AttachmentPartBytes)
		before := p.answered
		ml.mu.Unlock()
		progressed, err := ml.pushAttachment(ctx, dest, a, &part, func(arrived bool) {
			ml.pushAnswered(p, a.GetSha256(), arrived)
		}, func(why string) {
			// Shown while it lasts: the line is slower than the parts.
			ml.mu.Lock()
			number := p.cases[a.GetSha256()]
			ml.mu.Unlock()
			ml.noteDelivery(dest, (&pushFailure{sha: a.GetSha256(), name: a.GetFileName(), number: number, why: why}).error(dest), ml.cfg.Now())
		})
		now := ml.cfg.Now()
		ml.mu.Lock()
		p.part = part
		if err != nil {
			if ctx.Err() != nil || !p.queued[a.GetSha256()] {
				// Stopping, or no message waits for the file any more.
				p.running = false
				ml.mu.Unlock()
				return
			}
			if len(p.queue) > 0 && p.queue[0] == a {
				p.queue = append(p.queue[1:], a)
			}
			f := p.failing[a.GetSha256()]
			if f == nil || progressed {
				f = &pushFailure{sha: a.GetSha256(), name: a.GetFileName(), first: now}
				p.failing[a.GetSha256()] = f
			}
			if f.clock.IsZero() && p.answered.After(before) {
				f.clock = now // the office answered, and the file still did not go
			}
			f.number, f.tries, f.why = p.cases[a.GetSha256()], f.tries+1, err.Error()
			p.running, p.after = false, now.Add(pushRetry)
			noted := f.error(dest)
			ml.mu.Unlock()
			if !errors.Is(err, casebook.ErrAttachmentDamaged) { // logged at error once by the book
				ml.log.Warn("scanned file not pushed to the office above yet", "file", a.GetSha256(), "case", f.number, "to", dest, "err", err)
			}
			ml.noteDelivery(dest, noted, now)
			return
		}
		if len(p.queue) > 0 && p.queue[0] == a {
			p.queue = p.queue[1:]
		}
		delete(p.queued, a.GetSha256())
		delete(p.cases, a.GetSha256())
		delete(p.failing, a.GetSha256())
		if ml.pushed == nil || len(ml.pushed) > 100000 {
			ml.pushed = map[string]bool{} // a cache: forgetting costs one question per file
		}
		ml.pushed[dest+"/"+a.GetSha256()] = true
		if e, ok := ml.deliveryErrs[dest]; ok && e.file && len(p.failing) == 0 {
			delete(ml.deliveryErrs, dest) // its files go up again
			ml.log.Info("scanned files go up again", "to", dest)
		}
		ml.mu.Unlock()
		ml.wakeSender() // the messages waiting for it may go
	}
}

// pushAnswered notes that the office p pushes to answered a push of file
// sha, and, when a part of it arrived (arrived), that the file is going
// up: the failures before count no more toward setting its case aside.
func (ml *Mail) pushAnswered(p *pusher, sha string, arrived bool) {
	ml.mu.Lock()
	defer ml.mu.Unlock()
	p.answered = ml.cfg.Now()
	if arrived {
		delete(p.failing, sha)
	}
}

// pushFailure is the oldest failure of the files pushed to dest that
// fail now (nil: none).
func (ml *Mail) pushFailure(dest string) *pushFailure {
	ml.mu.Lock()
	defer ml.mu.Unlock()
	p := ml.pushers[dest]
	if p == nil {
		return nil
	}
	var oldest *pushFailure
	for _, f := range p.failing {
		if oldest == nil || f.first.Before(oldest.first) || (f.first.Equal(oldest.first) && f.sha < oldest.sha) {
			oldest = f
		}
	}
	if oldest == nil {
		return nil
	}
	c := *oldest
	c.answered = p.answered
	return &c
}

// stuckFile is the failure of the first of files (SHA-256s) that fails
// to go to dest (nil: none fails).
func (ml *Mail) stuckFile(dest string, files []string) *pushFailure {
	ml.mu.Lock()
	defer ml.mu.Unlock()
	p := ml.pushers[dest]
	if p == nil {
		return nil
	}
	for _, sha := range files {
		if f := p.failing[sha]; f != nil {
			c := *f
			c.answered = p.answered
			return &c
		}
	}
	return nil
}

// keepPushing drops from dest's pusher the files no message waits for
// any more (wanted: the ones some message does): its case was set aside,
// or sent on its way. The file being pushed is left to finish. A file
// dropped is queued again when a message names it again.
func (ml *Mail) keepPushing(dest string, wanted map[string]bool) {
	ml.mu.Lock()
	defer ml.mu.Unlock()
	p := ml.pushers[dest]
	if p == nil {
		return
	}
	for i := 0; i < len(p.queue); i++ {
		sha := p.queue[i].GetSha256()
		if wanted[sha] || (i == 0 && p.running) {
			continue
		}
		p.queue = slices.Delete(p.queue, i, i+1)
		i--
		delete(p.queued, sha)
		delete(p.cases, sha)
		delete(p.failing, sha)
	}
	if e, ok := ml.deliveryErrs[dest]; ok && e.file && len(p.failing) == 0 {
		delete(ml.deliveryErrs, dest)
	}
}

// partTimeout is how long one part's push may take: pushPartTimeout, or
// an eighth of QuarantineAfter when that is shorter, so that every part
// size down to minPushPart is tried well before a case waiting for the
// file is set aside.
func (ml *Mail) partTimeout() time.Duration {
	return min(pushPartTimeout, ml.cfg.QuarantineAfter/8)
}

// lineClock times the parts of a push (pushTo): the time a part's call
// has (its deadline) and the time it took, which the size of the next
// parts goes by. In service it is the machine's clock (machineClock); a
// test's decides how long its line takes, whatever the machine's load.
type lineClock interface {
	Now() time.Time
	WithTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc)
}

// machineClock is the machine's clock (time.Now, and its monotonic
// reading for the time a part took).
type machineClock struct{}

func (machineClock) Now() time.Time { return time.Now() }

func (machineClock) WithTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, d)
}

// pushAttachment pushes one file to dest from what its leader holds on,
// in parts of *part bytes (changed as the line allows). answered is
// called at each call the office answered, slow when a part did not
// arrive in its time and smaller ones follow; progressed says whether
// the office took bytes of the file, even if the push failed.
func (ml *Mail) pushAttachment(ctx context.Context, dest string, a *yizhanv1.Attachment, part *int, answered func(arrived bool), slow func(why string)) (progressed bool, err error) {
	if _, complete := ml.cfg.FSM.Cases().AttachmentHeld(a.GetSha256()); !complete {
		return false, fmt.Errorf("this office does not hold file %s whole", a.GetSha256())
	}
	// A copy damaged here is not sent (the office above would refuse its
	// hash each time): it waits to be mended, and its case with it. The
	// check stands a minute (casebook.scanCheckFor), so a retry costs no
	// hashing, and no call to the office above.
	if err := ml.cfg.FSM.Cases().CheckAttachment(a.GetSha256()); err != nil {
		return false, err
	}
	var last error
	for _, t := range ml.cfg.Routes.OfficeTargets(dest) {
		conn, err := ml.cfg.Peers.Conn(t.Addr, t.Office)
		if err != nil {
			last = err
			continue
		}
		took, err := ml.pushTo(ctx, peerv1.NewPeerClient(conn), a, part, answered, slow)
		progressed = progressed || took
		if last = err; last == nil {
			return progressed, nil
		}
		if refusedForGood(status.Code(err)) {
			break // the office's answer: another node of it says no more
		}
	}
	if last == nil {
		last = fmt.Errorf("no node of office %s known", dest)
	}
	return progressed, last
}

// pushTo pushes one file through client, a part at a time, from what the
// office holds. A part that does not arrive within partTimeout is sent
// again from there in a part half as large, down to minPushPart; parts
// that arrive within a quarter of it grow back, up to
// casework.AttachmentPartBytes. Both are timed by Config.lineClock.
func (ml *Mail) pushTo(ctx context.Context, client peerv1.PeerClient, a *yizhanv1.Attachment, part *int, answered func(arrived bool), slow func(why string)) (progressed bool, err error) {
	at := &peerv1.PutAttachmentPart{Sha256: a.GetSha256(), Size: a.GetSize(), ContentType: a.GetContentType()}
	held, first := int64(-1), int64(-1)
	*part = min(max(*part, minPushPart), casework.AttachmentPartBytes)
	timeout := ml.partTimeout()
	// Bounded: a part each at the smallest size, the halvings, a restart.
	for range 2 * (casework.MaxAttachmentBytes/minPushPart + 8) {
		probe := len(at.GetData()) == 0
		wait := timeout
		if probe {
			// Carries nothing: as long as a call of case mail may take.
			wait = max(timeout, deliverTimeout)
		}
		start := ml.cfg.lineClock.Now()
		cctx, cancel := ml.cfg.lineClock.WithTimeout(ctx, wait)
		got, err := client.PushAttachment(cctx, at)
		cancel()
		took := ml.cfg.lineClock.Now().Sub(start)
		if err != nil {
			if refusedForGood(status.Code(err)) {
				// Refused for what the push carries: the office answered,
				// and will answer so again. The time after which the case
				// waiting for the file is set aside runs (pushFailure.clock).
				answered(false)
				return progressed, err
			}
			if probe || ctx.Err() != nil || status.Code(err) != codes.DeadlineExceeded {
				return progressed, err
			}
			if len(at.GetData()) <= minPushPart {
				return progressed, fmt.Errorf("a part of %d KiB did not arrive within %s (the line is too slow): %w",
					len(at.GetData())>>10, timeout, err)
			}
			// A slow line: the same bytes again, in a smaller part.
			*part = max(len(at.GetData())/2, minPushPart)
			ml.log.Info("a part of a scanned file did not arrive in its time: smaller parts",
				"file", a.GetSha256(), "bytes", len(at.GetData()), "next", *part, "within", timeout)
			slow(fmt.Sprintf("a part of %d KiB did not arrive within %s (a slow line): parts of %d KiB now",
				len(at.GetData())>>10, timeout, *part>>10))
			at = proto.CloneOf(at)
			at.Data = at.Data[:*part]
			continue
		}
		answered(got.GetComplete() || held >= 0 && got.GetReceived() > held)
		if got.GetComplete() {
			return true, nil
		}
		if got.GetReceived() <= held && !probe && got.GetReceived() != 0 {
			return progressed, fmt.Errorf("the office above took nothing more of file %s after %d bytes", a.GetSha256(), held)
		}
		if first < 0 {
			first = got.GetReceived()
		}
		progressed = progressed || got.GetReceived() > first
		if !probe && len(at.GetData()) == *part && took < timeout/4 && *part < casework.AttachmentPartBytes {
			*part = min(2**part, casework.AttachmentPartBytes) // a faster line: larger parts
		}
		held = got.GetReceived()
		data, err := ml.cfg.FSM.Cases().ReadAttachment(a.GetSha256(), held, *part)
		if err != nil {
			return progressed, err
		}
		if len(data) == 0 {
			return progressed, errors.New("nothing more to send, and the office above does not hold it whole")
		}
		at = &peerv1.PutAttachmentPart{Sha256: a.GetSha256(), Size: a.GetSize(), ContentType: a.GetContentType(), Offset: held, Data: data}
	}
	return progressed, errors.New("the office above did not take the file")
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
