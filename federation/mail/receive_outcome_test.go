package mail

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/federation/raftgroup"
)

// A receipt is the receiver's word that it holds the case: the sender
// drops its outbox entry on it, and nothing sends the case again. So
// the township receipts a message only once its raft group has applied
// it. A call whose apply's outcome the township cannot know (its leader
// stepped down, or stopped, before the entry committed) is answered
// Unavailable with no receipt, and the village sends it again.
func TestAMessageWhoseApplyIsNotKnownIsNotReceipted(t *testing.T) {
	ca := newCA(t)
	town := startOffice(t, ca, township, newRegistry(t, county, township, village), nil)
	var proposed atomic.Int32
	town.owner.refuse = func(cmd *peerv1.CaseCommand) error {
		if cmd.GetReceive() == nil {
			return nil
		}
		proposed.Add(1)
		return fmt.Errorf("%w: the leader stepped down before the entry committed", raftgroup.ErrOutcomeUnknown)
	}
	vil := startOffice(t, ca, village, newRegistry(t, county, township, village), func(c *Config) {
		c.Routes.PeerRoutes[township] = []string{town.addr}
	})

	number := village + "-20260302-0001"
	filed := &yizhanv1.CaseEvent{Seq: 1, Type: yizhanv1.EventType_EVENT_TYPE_FILED, OfficeCode: village,
		At:     timestamppb.New(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)),
		Filing: &yizhanv1.CaseFiling{Number: number, OriginOffice: village}}
	casework.Seal(filed, casework.GenesisHash(number))
	req := &peerv1.DeliverCasesRequest{Messages: []*peerv1.CaseMessage{{CaseNumber: number, FromOffice: village,
		Events: []*yizhanv1.CaseEvent{filed}}}}

	resp, err := vil.mail.call(t.Context(), township, req)
	if proposed.Load() == 0 {
		t.Fatalf("the township never proposed the message (answer %v, %v)", resp, err)
	}
	if len(resp.GetReceipts()) > 0 {
		t.Errorf("the township receipted a message it has not applied: %v", resp.GetReceipts())
	}
	if status.Code(err) != codes.Unavailable {
		t.Errorf("the call answered %v; want Unavailable, for the village to send it again", err)
	}
	if _, _, ok, _ := town.fsm.Cases().Read(number); ok {
		t.Errorf("the township holds case %s, which it never applied", number)
	}
}
