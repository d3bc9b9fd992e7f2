package mail

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	"github.com/yizhan-gov/yizhan/federation/raftgroup"
	"github.com/yizhan-gov/yizhan/reason"
)

// A message the township's write path refuses as too large (more than
// its raft entry, or its book's transaction, may hold) is one the
// township will never take. It was answered as if the township were
// down (Unavailable): the village backed off and sent the same call
// again for ever, never set the message aside, and the small report
// behind it in the same call never arrived either. Now the village finds
// the message at fault, sends the rest, and sets it aside with its alarm
// (its reason names the office and what was wrong).
func TestAMessageTooLargeForTheReceiverIsSetAsideAndTheRestArrive(t *testing.T) {
	ca := newCA(t)
	const limit = 16 << 10 // bytes of a Receive the township takes
	town := startOffice(t, ca, township, newRegistry(t, county, township, village), nil)
	town.owner.refuse = func(cmd *peerv1.CaseCommand) error {
		if n := proto.Size(cmd); cmd.GetReceive() != nil && n > limit {
			return reason.Errorf(reason.TooLarge, reason.Meta{"bytes": reason.Itoa(n), "max": reason.Itoa(limit)},
				"%w: the command is %d bytes, more than the %d a raft entry may have", raftgroup.ErrTooLarge, n, limit)
		}
		return nil
	}
	vil := startOffice(t, ca, village, newRegistry(t, county, township, village), func(c *Config) {
		c.QuarantineAfter = 300 * time.Millisecond
		// The township at its peer port (set before the mail runs: the
		// routes are read without a lock).
		c.Routes.PeerRoutes[township] = []string{town.addr}
	})
	big := vil.zeroReport(0, strings.Repeat("零", 2*limit/3)) // within what the village sends, over what the township takes
	small := vil.zeroReport(1, "无情况")

	waitFor(t, "the small report at the township", func() bool { return !vil.queued(small) }, 10*time.Second)
	waitFor(t, "the large report set aside", func() bool { return vil.quarantined(big) != nil }, 10*time.Second)
	q := vil.quarantined(big)
	if why := q.GetReason(); !strings.Contains(why, township) || !strings.Contains(why, "too large") {
		t.Errorf("set aside with the reason %q: want it to name the township and say the message is too large", why)
	}
	if vil.queued(big) {
		t.Error("the large report is both set aside and still queued")
	}
	if n := vil.fsm.Cases().QuarantinedLen(); n != 1 {
		t.Errorf("the village's quarantine holds %d messages, want 1", n)
	}
}

// The township's nodes are not known to the village (none announced, or
// none reachable): its mail waits for them, held by nothing, however
// long. Once the township is gone from the registry (the feed installed
// the registry of a county restored from a backup older than the
// township), the village's mail to it has nowhere to go: it is set aside
// with its alarm, naming the office, after QuarantineAfter (the registry
// may lag behind an office just made, whose mail is not lost meanwhile).
// It was retried for ever.
func TestMailToAnOfficeGoneFromTheRegistryIsSetAside(t *testing.T) {
	ca := newCA(t)
	const after = 300 * time.Millisecond
	vil := startOffice(t, ca, village, newRegistry(t, county, township, village), func(c *Config) { c.QuarantineAfter = after })
	id := vil.zeroReport(0, "无情况")

	waitFor(t, "the delivery error", func() bool { return len(vil.mail.DeliveryErrors()) > 0 }, 5*time.Second)
	time.Sleep(4 * after)
	if !vil.queued(id) || vil.quarantined(id) != nil {
		t.Fatalf("mail to an office in the registry whose nodes are unknown: queued %v, set aside %v; want it to wait", vil.queued(id), vil.quarantined(id))
	}

	if err := vil.fsm.Registry().Restore(withoutOffice(vil.fsm.Registry(), township)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the report set aside", func() bool { return vil.quarantined(id) != nil }, 10*time.Second)
	if why := vil.quarantined(id).GetReason(); !strings.Contains(why, township) || !strings.Contains(why, "registry") {
		t.Errorf("set aside with the reason %q: want it to name the township and the registry", why)
	}
	if vil.queued(id) {
		t.Error("the report is both set aside and still queued")
	}
	waitFor(t, "the delivery error cleared", func() bool { return len(vil.mail.DeliveryErrors()) == 0 }, 5*time.Second)
}
