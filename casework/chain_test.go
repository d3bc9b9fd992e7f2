package casework

import (
	"bytes"
	"testing"

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
