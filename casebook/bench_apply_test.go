package casebook

import (
	"fmt"
	"testing"
	"time"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
)

// BenchmarkApplyFiling is the case book's part of one filing on the
// write path of one client: a raft entry that files a case (a clerk's,
// sealed, with a node's signer chain and a request ID), applied alone, as
// the state machine applies an entry when nothing else waits, on the
// badger options of the package's tests (Small). Badger's commit is not
// waited for (Apply does not wait), but the next Apply waits for the one
// before.
func BenchmarkApplyFiling(b *testing.B) {
	o := newOffice(b, county, newRegistry(b))
	o.step = 10 * time.Millisecond // a busy office: no request record is old enough to forget
	cmds := make([]*peerv1.CaseCommand, b.N)
	reqs := make([]Request, b.N)
	ats := make([]int64, b.N)
	for i := range cmds {
		o.now = o.now.Add(o.step)
		ats[i] = o.now.UnixNano()
		_, cmds[i] = o.filing(clerk, licence, i)
		reqs[i] = Request{ID: fmt.Sprintf("bench-%d", i), Hash: []byte(fmt.Sprintf("hash-%032d", i))}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		o.index++
		res := o.book.Apply([]Entry{{Index: o.index, At: ats[i], Request: reqs[i], Cmd: cmds[i]}}, o.index, o.reg)[0]
		if res.Err != nil {
			b.Fatal(res.Err)
		}
	}
	b.StopTimer()
	o.book.writeMu.Lock()
	o.book.settle() // the last commit written before the book closes
	o.book.writeMu.Unlock()
}
