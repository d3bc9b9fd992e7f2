package casework

import (
	"bytes"
	"crypto/sha256"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// sealedLog files a tobacco case at the village and returns its number
// and its log after the village forwarded it.
func sealedLog(t *testing.T) (string, []*yizhanv1.CaseEvent) {
	t.Helper()
	w := newWorld(t)
	n := w.file(village, tobacco, eastAgent, tobaccoMaterials[:4]...)
	w.autos() // the village forwards it to the township
	events := w.books[village].Events(n)
	if len(events) != 2 {
		t.Fatalf("log of %d events, want FILED and FORWARDED", len(events))
	}
	return n, events
}

func TestHashEvent(t *testing.T) {
	_, events := sealedLog(t)
	e := events[1]
	h := HashEvent(e)
	if len(h) != 32 || !bytes.Equal(h, e.GetHash()) {
		t.Fatalf("HashEvent does not give the sealed hash")
	}
	signed := proto.CloneOf(e)
	signed.Signature = []byte("sig")
	signed.SignerChain = [][]byte{[]byte("leaf"), []byte("ca")}
	if !bytes.Equal(HashEvent(signed), h) {
		t.Errorf("the signature and signer chain change the hash")
	}
	for name, change := range map[string]func(*yizhanv1.CaseEvent){
		"reason":    func(e *yizhanv1.CaseEvent) { e.Reason = "x" },
		"to_office": func(e *yizhanv1.CaseEvent) { e.ToOffice = county },
		"prev_hash": func(e *yizhanv1.CaseEvent) { e.PrevHash[0] ^= 1 },
		"seq":       func(e *yizhanv1.CaseEvent) { e.Seq++ },
	} {
		c := proto.CloneOf(e)
		change(c)
		if bytes.Equal(HashEvent(c), h) {
			t.Errorf("changing %s leaves the hash", name)
		}
	}
	if HashEvent(&yizhanv1.CaseEvent{Reason: "\xff"}) != nil {
		t.Errorf("an event that cannot be encoded has a hash")
	}
}

// hashEventByCopy is HashEvent as first written: a copy of the event with
// the three fields cleared, encoded and hashed. Every chain already
// stored was sealed with it.
func hashEventByCopy(e *yizhanv1.CaseEvent) []byte {
	c := proto.CloneOf(e)
	if c == nil {
		return nil
	}
	c.Hash, c.Signature, c.SignerChain = nil, nil, nil
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(c)
	if err != nil {
		return nil
	}
	h := sha256.Sum256(b)
	return h[:]
}

func TestHashEventAsOfACopyWithoutTheFields(t *testing.T) {
	_, events := sealedLog(t)
	signed := proto.CloneOf(events[0])
	signed.Signature = bytes.Repeat([]byte{7}, 64)
	signed.SignerChain = [][]byte{bytes.Repeat([]byte("leaf"), 150), []byte("county CA")}
	unknown := proto.CloneOf(events[1])
	// A field a later release added, which this one keeps unread.
	unknown.ProtoReflect().SetUnknown(protowire.AppendBytes(protowire.AppendTag(nil, 999, protowire.BytesType), []byte("later")))
	cases := map[string]*yizhanv1.CaseEvent{
		"filed":              events[0],
		"forwarded":          events[1],
		"signed, with chain": signed,
		"unknown field":      unknown,
		"empty":              {},
		"only the cleared":   {Hash: []byte{1}, Signature: []byte{2}, SignerChain: [][]byte{{3}}},
		"not UTF-8":          {Reason: "\xff", Hash: []byte{1}},
	}
	for name, e := range cases {
		if got, want := HashEvent(e), hashEventByCopy(e); !bytes.Equal(got, want) {
			t.Errorf("%s: HashEvent %x, a copy without the fields %x", name, got, want)
		}
	}
	if HashEvent(nil) != nil {
		t.Errorf("a nil event has a hash")
	}
}

func TestVerifyChain(t *testing.T) {
	n, events := sealedLog(t)
	if err := VerifyChain(n, events); err != nil {
		t.Fatalf("VerifyChain of a good log: %v", err)
	}
	tests := []struct {
		name   string
		number string
		change func([]*yizhanv1.CaseEvent) []*yizhanv1.CaseEvent
		want   string
	}{
		{name: "empty", change: func([]*yizhanv1.CaseEvent) []*yizhanv1.CaseEvent { return nil }, want: "no events"},
		{name: "another case's number", number: n[:len(n)-1] + "9", want: "seq 1"},
		{name: "gap", change: func(es []*yizhanv1.CaseEvent) []*yizhanv1.CaseEvent { es[1].Seq = 3; return es }, want: "seq 3"},
		{name: "starts after the filing", change: func(es []*yizhanv1.CaseEvent) []*yizhanv1.CaseEvent { return es[1:] }, want: "event 1 has seq 2"},
		{name: "edited reason", change: func(es []*yizhanv1.CaseEvent) []*yizhanv1.CaseEvent { es[1].Reason = "改"; return es }, want: "seq 2: hash"},
		{name: "edited and resealed", change: func(es []*yizhanv1.CaseEvent) []*yizhanv1.CaseEvent {
			es[0].Filing.Applicant.Name = "冒名"
			Seal(es[0], es[0].GetPrevHash())
			return es
		}, want: "seq 2: prev_hash"},
		{name: "wrong genesis", change: func(es []*yizhanv1.CaseEvent) []*yizhanv1.CaseEvent {
			Seal(es[0], GenesisHash("other"))
			return es
		}, want: "genesis"},
		{name: "filed twice", change: func(es []*yizhanv1.CaseEvent) []*yizhanv1.CaseEvent {
			es[1].Type = yizhanv1.EventType_EVENT_TYPE_FILED
			Seal(es[1], es[0].GetHash())
			return es
		}, want: "again"},
		{name: "nil event", change: func(es []*yizhanv1.CaseEvent) []*yizhanv1.CaseEvent { es[1] = nil; return es }, want: "missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			es := make([]*yizhanv1.CaseEvent, len(events))
			for i, e := range events {
				es[i] = proto.CloneOf(e)
			}
			if tt.change != nil {
				es = tt.change(es)
			}
			number := n
			if tt.number != "" {
				number = tt.number
			}
			wantErr(t, VerifyChain(number, es), ErrConflict, tt.want)
		})
	}
}

// BenchmarkHashEvent hashes a filing event as a node's state machine
// checks it: signed, with a node's signer chain.
func BenchmarkHashEvent(b *testing.B) {
	w := newWorld(b)
	n := w.file(village, tobacco, eastAgent, tobaccoMaterials[:4]...)
	e := proto.CloneOf(w.books[village].Events(n)[0])
	e.Signature = bytes.Repeat([]byte{7}, 64)
	e.SignerChain = [][]byte{bytes.Repeat([]byte("leaf"), 150), bytes.Repeat([]byte("ca"), 200)}
	b.ReportAllocs()
	for b.Loop() {
		HashEvent(e)
	}
}
