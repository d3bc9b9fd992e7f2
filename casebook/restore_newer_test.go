package casebook

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"testing"
)

// bookStream writes a book stream (Stream's format) of the given keys.
func bookStream(kvs [][2][]byte) []byte {
	var b bytes.Buffer
	b.WriteString(streamMagic)
	for _, kv := range kvs {
		for _, p := range kv {
			b.Write(binary.AppendUvarint(nil, uint64(len(p))))
			b.Write(p)
		}
	}
	b.WriteByte(0)
	sum := sha256.Sum256(b.Bytes())
	b.Write(sum[:])
	return b.Bytes()
}

// A backup of a newer release (its book's format or its statistics'
// format past this binary's) is refused by the restore (Book.Restore
// reads the meta keys back), not written for the node to refuse at start.
func TestRestoreRefusesABookOfANewerRelease(t *testing.T) {
	for name, k := range map[string][]byte{"format": keyFormat, "stats format": keyStatsFormat} {
		v := uint64(format)
		if bytes.Equal(k, keyStatsFormat) {
			v = statsFormat
		}
		kvs := [][2][]byte{{keyApplied, be64(5)}, {keyOffice, []byte(village)}, {k, be64(v + 1)}}
		b := openBook(t, openDB(t, t.TempDir()), village)
		if err := b.Restore(bytes.NewReader(bookStream(kvs))); err == nil {
			t.Errorf("a book of a newer %s restored", name)
		}
	}
}
