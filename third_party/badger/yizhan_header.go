package badger

import (
	"encoding/binary"
	"math"
)

// yizhan patch (PATCHES.md): decodeStored is header.Decode for an entry
// read back from a value log on the disk, where a damaged entry may hold
// no whole header. It reports false where buf is shorter than a header,
// a length's uvarint overflows or runs off the end of buf, or a length
// is past what the header's fields hold. Decode took an overflowing
// uvarint's negative count for a length and valueLog.Read then sliced
// out of range: a panic, in the prefetching goroutine of an iterator,
// that no caller could catch.
func (h *header) decodeStored(buf []byte) (int, bool) {
	if len(buf) < 2 {
		return 0, false
	}
	var v [3]uint64
	index := 2
	for i := range v {
		x, n := binary.Uvarint(buf[index:])
		if n <= 0 {
			return 0, false
		}
		v[i] = x
		index += n
	}
	if v[0] > math.MaxUint32 || v[1] > math.MaxUint32 {
		return 0, false
	}
	h.meta, h.userMeta = buf[0], buf[1]
	h.klen, h.vlen, h.expiresAt = uint32(v[0]), uint32(v[1]), v[2]
	return index, true
}
