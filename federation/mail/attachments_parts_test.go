package mail

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/duty"
)

// slowLine is the office above, over a line that carries rate bytes a
// second (0: at once), timed by clock: a part that cannot arrive before
// its call's deadline times out, and nothing of it is kept.
type slowLine struct {
	peerv1.PeerClient
	rate  int
	clock *lineTime

	mu    sync.Mutex
	got   []byte
	parts []int // the sizes of the parts that arrived
}

func (l *slowLine) PushAttachment(ctx context.Context, p *peerv1.PutAttachmentPart, _ ...grpc.CallOption) (*peerv1.AttachmentProgress, error) {
	if n := len(p.GetData()); n > 0 && l.rate > 0 {
		if !l.clock.carry(ctx, time.Duration(n)*time.Second/time.Duration(l.rate)) {
			return nil, status.Error(codes.DeadlineExceeded, "the part did not arrive before its deadline")
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(p.GetData()) > 0 && p.GetOffset() == int64(len(l.got)) {
		l.got = append(l.got, p.GetData()...)
		l.parts = append(l.parts, len(p.GetData()))
	}
	return &peerv1.AttachmentProgress{Received: int64(len(l.got)), Complete: int64(len(l.got)) == p.GetSize()}, nil
}

// lineTime is the clock a push's parts are timed by in the tests
// (Config.lineClock): it goes on only by the time the test's lines take
// to carry parts, so what a part takes is the line's doing, never the
// machine's load.
type lineTime struct {
	mu  sync.Mutex
	now time.Time
}

func (c *lineTime) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// WithTimeout gives a part's call its deadline on this clock.
func (c *lineTime) WithTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	return lineDeadline{ctx, c.Now().Add(d)}, cancel
}

// lineDeadline is a call's context with its deadline on a lineTime.
type lineDeadline struct {
	context.Context
	at time.Time
}

func (d lineDeadline) Deadline() (time.Time, bool) { return d.at, true }

// carry lets the time a part takes (need) go by, and reports whether it
// arrives before ctx's deadline; when it does not, the clock stops at the
// deadline, when the call gives up.
func (c *lineTime) carry(ctx context.Context, need time.Duration) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if deadline, ok := ctx.Deadline(); ok && deadline.Sub(c.now) < need {
		c.now = deadline
		return false
	}
	c.now = c.now.Add(need)
	return true
}

// keepFile stores data whole in the office's book as a scan, and returns
// its attachment.
func (o *office) keepFile(data []byte) *yizhanv1.Attachment {
	o.t.Helper()
	sum := sha256.Sum256(data)
	a := &yizhanv1.Attachment{Sha256: hex.EncodeToString(sum[:]), Size: int64(len(data)), ContentType: casework.TypePDF, FileName: "身份证.pdf"}
	for off := 0; off < len(data); off += casework.AttachmentPartBytes {
		part := &peerv1.PutAttachmentPart{Sha256: a.Sha256, Size: a.Size, ContentType: a.ContentType, Offset: int64(off),
			Data: data[off:min(off+casework.AttachmentPartBytes, len(data))], UploaderOffice: o.code}
		if _, err := o.owner.ProposeCase(context.Background(), &peerv1.CaseCommand{AtUnixNano: time.Now().UnixNano(),
			Op: &peerv1.CaseCommand_PutAttachmentPart{PutAttachmentPart: part}}); err != nil {
			o.t.Fatalf("keep the scan: %v", err)
		}
	}
	return a
}

func scanBytes(size int, seed uint64) []byte {
	b := make([]byte, size)
	r := rand.New(rand.NewPCG(seed, seed))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	copy(b, "%PDF-1.7\n")
	return b
}

// A line too slow for a 512 KiB part in the time a part has (here
// 100 ms, an eighth of QuarantineAfter; the line carries 4 MiB a second)
// takes the scan whole in smaller parts: the push halves the part that
// timed out, says so, and keeps the size for the next file. A faster line
// grows the parts back, up to 512 KiB. A line too slow for even a 32 KiB
// part fails the push, naming the part and its time. The parts are timed
// on the lines' own clock (lineTime), so a loaded machine changes none of
// it.
func TestAPushCutsItsPartsToWhatTheLineCarries(t *testing.T) {
	ca := newCA(t)
	clock := &lineTime{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	vil := startOffice(t, ca, village, newRegistry(t, county, township, village), func(c *Config) {
		c.QuarantineAfter = 800 * time.Millisecond
		c.lineClock = clock
	})
	data := scanBytes(600<<10, 1)
	a := vil.keepFile(data)
	ctx := context.Background()
	var slow []string
	note := func(why string) { slow = append(slow, why) }

	line := &slowLine{rate: 4 << 20, clock: clock}
	part := casework.AttachmentPartBytes
	if _, err := vil.mail.pushTo(ctx, line, a, &part, func(bool) {}, note); err != nil {
		t.Fatalf("push over a slow line: %v", err)
	}
	if !bytes.Equal(line.got, data) {
		t.Fatalf("the office above holds %d bytes, not the scan's %d", len(line.got), len(data))
	}
	if part != 256<<10 || len(slow) != 1 || !strings.Contains(slow[0], "512 KiB did not arrive within 100ms") {
		t.Errorf("parts of %d KiB after the push (want 256), told %q", part>>10, slow)
	}
	if want := []int{256 << 10, 256 << 10, 88 << 10}; fmt.Sprint(line.parts) != fmt.Sprint(want) {
		t.Errorf("over a line that carries 400 KiB in a part's time the parts were %v, want %v", line.parts, want)
	}

	fast := &slowLine{rate: 32 << 20, clock: clock} // 256 KiB in 7.8 ms, under a quarter of a part's time
	part = minPushPart
	arrivals := 0
	if _, err := vil.mail.pushTo(ctx, fast, a, &part, func(arrived bool) {
		if arrived {
			arrivals++
		}
	}, note); err != nil {
		t.Fatalf("push over a fast line: %v", err)
	}
	if !bytes.Equal(fast.got, data) {
		t.Fatalf("over a fast line the office above holds %d bytes, not the scan's %d", len(fast.got), len(data))
	}
	if arrivals != len(fast.parts) {
		t.Errorf("the push said %d parts arrived, the line carried %d", arrivals, len(fast.parts))
	}
	if want := []int{32 << 10, 64 << 10, 128 << 10, 256 << 10, 120 << 10}; fmt.Sprint(fast.parts) != fmt.Sprint(want) || part != casework.AttachmentPartBytes {
		t.Errorf("over a fast line the parts were %v, then %d KiB: want %v, then 512", fast.parts, part>>10, want)
	}

	slow = nil
	tooSlow := &slowLine{rate: 128 << 10, clock: clock} // 12.8 KiB in a part's time
	part = casework.AttachmentPartBytes
	_, err := vil.mail.pushTo(ctx, tooSlow, a, &part, func(bool) {}, note)
	if err == nil || !strings.Contains(err.Error(), "a part of 32 KiB did not arrive within 100ms") {
		t.Errorf("a push over a line too slow for 32 KiB parts: %v", err)
	}
	if len(tooSlow.got) != 0 || part != minPushPart || len(slow) != 4 {
		t.Errorf("the office above holds %d bytes, parts are %d KiB, told %d times: want 0, 32 and 4 (512 to 32 KiB)", len(tooSlow.got), part>>10, len(slow))
	}
}

// More than a call's worth of cases wait for their scanned files: held
// back on their own, they leave the call to the cases behind them, and
// to an urgent report, which goes first in any case. A case whose file
// has gone up is due again at once.
func TestCasesWaitingForFilesLeaveTheCallToTheRest(t *testing.T) {
	ml := New(Config{Office: village})
	m := newMailer(ml)
	now := time.Now()
	var outbox []*peerv1.OutboxEntry
	for i := range 70 {
		outbox = append(outbox, &peerv1.OutboxEntry{DestOffice: township, CaseNumber: fmt.Sprintf("%s260302%06d", village, i+1), UptoSeq: 2})
	}
	report := duty.ReportID(village, now, "ABCDEF")
	outbox = append(outbox, &peerv1.OutboxEntry{DestOffice: township, CaseNumber: report, UptoSeq: 1})

	byDest := m.due(sliceOutbox(outbox), now)
	if got := byDest[township]; len(got) != deliverBatch || got[0].GetCaseNumber() != report {
		t.Fatalf("a call of %d messages, the first %s: want %d, the urgent report first", len(got), got[0].GetCaseNumber(), deliverBatch)
	}

	// The first 66 cases wait for their files, which are on their way.
	ml.pushers = map[string]*pusher{township: {running: true}}
	for i, e := range outbox[:66] {
		m.held[outboxKey{township, e.GetCaseNumber()}] = &heldEntry{upto: 2, first: now, until: now.Add(pushRetry),
			files: []string{fmt.Sprintf("%064x", i)}}
	}
	byDest = m.due(sliceOutbox(outbox), now)
	var got []string
	for _, e := range byDest[township] {
		got = append(got, e.GetCaseNumber())
	}
	want := []string{report, outbox[66].GetCaseNumber(), outbox[67].GetCaseNumber(), outbox[68].GetCaseNumber(), outbox[69].GetCaseNumber()}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("the call carries %v, want %v", got, want)
	}

	// The third case's file went up.
	ml.pushed = map[string]bool{township + "/" + fmt.Sprintf("%064x", 2): true}
	byDest = m.due(sliceOutbox(outbox), now)
	if n := len(byDest[township]); n != 6 || byDest[township][1].GetCaseNumber() != outbox[2].GetCaseNumber() {
		t.Errorf("after its file went up the case is not in the call (%d messages)", n)
	}
	// The pusher stopped after a failure and may try again: every case
	// waiting is looked at again, which starts it.
	ml.pushers[township].running = false
	byDest = m.due(sliceOutbox(outbox), now)
	if n := len(byDest[township]); n != deliverBatch {
		t.Errorf("with the pusher idle, a call of %d messages: want %d", n, deliverBatch)
	}
}
