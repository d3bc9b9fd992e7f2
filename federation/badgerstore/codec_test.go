package badgerstore

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

func logsEqual(a, b *raft.Log) bool {
	return a.Index == b.Index && a.Term == b.Term && a.Type == b.Type &&
		bytes.Equal(a.Data, b.Data) && bytes.Equal(a.Extensions, b.Extensions) &&
		a.AppendedAt.Equal(b.AppendedAt)
}

func TestCodecRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		log  raft.Log
	}{
		{name: "zero", log: raft.Log{}},
		{name: "command", log: raft.Log{Index: 1, Term: 1, Type: raft.LogCommand, Data: []byte("hello")}},
		{name: "all fields", log: raft.Log{
			Index: 1<<63 + 7, Term: 1 << 40, Type: raft.LogConfiguration,
			Data: bytes.Repeat([]byte{0xff}, 300), Extensions: []byte("ext"),
			AppendedAt: time.Date(2026, 3, 1, 8, 30, 0, 123456789, time.FixedZone("CST", 8*3600)),
		}},
		{name: "before 1970", log: raft.Log{Index: 2, AppendedAt: time.Date(1960, 1, 1, 0, 0, 0, 1, time.UTC)}},
		{name: "extensions only", log: raft.Log{Index: 3, Type: raft.LogNoop, Extensions: []byte{0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := encodeLog(nil, &tt.log)
			var got raft.Log
			if err := decodeLog(b, &got); err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !logsEqual(&got, &tt.log) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", got, tt.log)
			}
		})
	}
}

func TestCodecRefusesCorrupt(t *testing.T) {
	good := encodeLog(nil, &raft.Log{Index: 9, Term: 2, Data: []byte("data"), AppendedAt: time.Unix(1, 2)})
	tests := []struct {
		name string
		b    []byte
	}{
		{name: "empty", b: nil},
		{name: "unknown version", b: append([]byte{99}, good[1:]...)},
		{name: "truncated", b: good[:len(good)-3]},
		{name: "trailing", b: append(append([]byte(nil), good...), 0)},
		{name: "data too long", b: []byte{codecVersion, 1, 1, 0, 50, 'x'}},
		{name: "bad time flag", b: []byte{codecVersion, 1, 1, 0, 0, 0, 7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l raft.Log
			if err := decodeLog(tt.b, &l); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("decodeLog(%x) = %v, want ErrCorrupt", tt.b, err)
			}
		})
	}
}

func FuzzDecodeLog(f *testing.F) {
	f.Add(encodeLog(nil, &raft.Log{Index: 1, Term: 1, Data: []byte("x"), AppendedAt: time.Unix(5, 6)}))
	f.Add([]byte{codecVersion})
	f.Fuzz(func(t *testing.T, b []byte) {
		var l raft.Log
		if err := decodeLog(b, &l); err != nil {
			return
		}
		// Whatever decodes must encode back to the same entry.
		var again raft.Log
		if err := decodeLog(encodeLog(nil, &l), &again); err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if !logsEqual(&l, &again) {
			t.Fatalf("re-encode changed the entry: %+v vs %+v", l, again)
		}
	})
}
