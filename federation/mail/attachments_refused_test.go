package mail

import (
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/reason"
)

// A push the office above refuses for good (it holds the file whole,
// and the push says the file is of another type: a case's event that
// describes its scan wrongly) is answered FAILED_PRECONDITION saying what
// it holds, not Unavailable as if the office were down; and the village's
// pusher takes the refusal for the office's answer, so that the time
// after which the case waiting for the file is set aside runs from it.
// It never ran: the case waited, its file pushed every 5 s, for ever.
func TestAPushRefusedForGoodIsTheOfficeAbovesAnswer(t *testing.T) {
	ca := newCA(t)
	town := startOffice(t, ca, township, newRegistry(t, county, township, village), nil)
	var mu sync.Mutex
	now := time.Now()
	vil := startOffice(t, ca, village, newRegistry(t, county, township, village), func(c *Config) {
		c.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		c.Routes.PeerRoutes[township] = []string{town.addr}
	})
	data := scanBytes(100<<10, 5)
	town.keepFile(data)
	a := vil.keepFile(data)
	wrong := proto.CloneOf(a)
	wrong.ContentType = casework.TypePNG

	_, err := town.mail.ReceiveAttachment(fromNodeOf(t, ca, village), &peerv1.PutAttachmentPart{Sha256: a.Sha256, Size: a.Size, ContentType: casework.TypePNG})
	if status.Code(err) != codes.FailedPrecondition || reason.StatusReason(err) != reason.FailedPrecondition || !strings.Contains(err.Error(), "held as") {
		t.Errorf("a push of a file held whole as another type: %v; want FAILED_PRECONDITION saying what is held", err)
	}

	const number = "450122101203260302000001"
	stuck := func(tries int) *pushFailure {
		t.Helper()
		var f *pushFailure
		waitFor(t, "the push's failure", func() bool {
			f = vil.mail.stuckFile(township, []string{a.Sha256})
			return f != nil && f.tries == tries
		}, 10*time.Second)
		return f
	}
	vil.mail.push(township, number, []*yizhanv1.Attachment{wrong})
	stuck(1)
	mu.Lock()
	now = now.Add(pushRetry + time.Second)
	mu.Unlock()
	vil.mail.push(township, number, []*yizhanv1.Attachment{wrong})
	f := stuck(2)
	if f.clock.IsZero() || !f.answered.After(f.clock) {
		t.Errorf("the township answered twice and its refusal starts no clock (clock %v, answered %v): the case is never set aside", f.clock, f.answered)
	}
	if !strings.Contains(f.why, "held as") {
		t.Errorf("the failure says %q: want the township's refusal", f.why)
	}
}
