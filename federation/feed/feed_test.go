package feed

import (
	"bytes"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// sentFeed records what sendFeed sends.
type sentFeed struct {
	grpc.ServerStream
	msgs []*peerv1.FeedMessage
}

func (s *sentFeed) Send(m *peerv1.FeedMessage) error {
	s.msgs = append(s.msgs, proto.CloneOf(m))
	return nil
}

func TestLargeFeedMessagesTravelInChunks(t *testing.T) {
	snap := &peerv1.RegistrySnapshot{Index: 7}
	for i := range 50 {
		snap.Items = append(snap.Items, &peerv1.ItemHistory{Versions: []*yizhanv1.Item{{Code: string(rune('A' + i%26)), Conditions: string(bytes.Repeat([]byte("条"), 40000))}}})
	}
	large := &peerv1.FeedMessage{Kind: &peerv1.FeedMessage_Snapshot{Snapshot: snap}}
	small := &peerv1.FeedMessage{Kind: &peerv1.FeedMessage_Heartbeat{Heartbeat: &peerv1.FeedHeartbeat{UpstreamIndex: 7}}}
	var s sentFeed
	for _, m := range []*peerv1.FeedMessage{small, large, small} {
		if err := sendFeed(&s, m); err != nil {
			t.Fatal(err)
		}
	}
	if len(s.msgs) < 2+proto.Size(large)/feedChunkBytes {
		t.Fatalf("%d messages sent for a %d-byte snapshot", len(s.msgs), proto.Size(large))
	}
	var a feedAssembler
	var got []*peerv1.FeedMessage
	for _, m := range s.msgs {
		if n := proto.Size(m); n > feedChunkBytes+64 {
			t.Fatalf("a %d-byte message went out", n)
		}
		whole, err := a.add(m)
		if err != nil {
			t.Fatal(err)
		}
		if whole != nil {
			got = append(got, whole)
		}
	}
	if len(got) != 3 || !proto.Equal(got[0], small) || !proto.Equal(got[1], large) || !proto.Equal(got[2], small) {
		t.Fatalf("assembled %d messages, not the three sent", len(got))
	}
}

func TestFeedAssemblerRefusesMixedAndBadChunks(t *testing.T) {
	var a feedAssembler
	if _, err := a.add(&peerv1.FeedMessage{Kind: &peerv1.FeedMessage_Chunk{Chunk: &peerv1.FeedChunk{Data: []byte{0x0a}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.add(&peerv1.FeedMessage{Kind: &peerv1.FeedMessage_Heartbeat{Heartbeat: &peerv1.FeedHeartbeat{}}}); err == nil {
		t.Error("a whole message inside a chunked one was taken")
	}
	a = feedAssembler{}
	if _, err := a.add(&peerv1.FeedMessage{Kind: &peerv1.FeedMessage_Chunk{Chunk: &peerv1.FeedChunk{Data: []byte{0xff, 0xff}, Last: true}}}); err == nil {
		t.Error("undecodable chunks were taken")
	}
}

// Whatever a feed source sends, the assembler neither panics nor hands on
// a chunk, and what it completes is what was chunked.
func FuzzFeedAssembler(f *testing.F) {
	var s sentFeed
	snap := &peerv1.RegistrySnapshot{Index: 3, Items: []*peerv1.ItemHistory{{Versions: []*yizhanv1.Item{{Code: "A", Conditions: string(bytes.Repeat([]byte("条"), 400000))}}}}}
	if err := sendFeed(&s, &peerv1.FeedMessage{Kind: &peerv1.FeedMessage_Snapshot{Snapshot: snap}}); err != nil {
		f.Fatal(err)
	}
	for _, m := range s.msgs[:2] {
		b, _ := proto.Marshal(m)
		f.Add(b, b[:len(b)/2])
	}
	f.Add([]byte{}, []byte{0x22, 0x02, 0x10, 0x01})
	f.Fuzz(func(t *testing.T, first, second []byte) {
		var a feedAssembler
		for _, data := range [][]byte{first, second} {
			m := &peerv1.FeedMessage{}
			if proto.Unmarshal(data, m) != nil {
				return
			}
			whole, err := a.add(m)
			if err == nil && whole != nil && whole.GetChunk() != nil {
				t.Fatal("the assembler handed on a chunk")
			}
		}
	})
}
