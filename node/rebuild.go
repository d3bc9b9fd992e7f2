package node

import (
	"fmt"
	"time"

	"github.com/yizhan-gov/yizhan/registry"
)

// rebuiltSince is the time a book rebuilt from nothing takes back from:
// before any case of any office. Its neighbours give every case they
// hold of the office, and the office numbers its cases above
// casebook.RestoredSeqGap on the days from it through the end of the
// take-back (so, today's: a lost disk's last cases, mirrored to no one,
// keep their numbers to themselves).
var rebuiltSince = time.Date(2000, 1, 1, 0, 0, 0, 0, registry.CST)

// markRebuilt marks the empty book of an office started anew after its
// data was lost with no backup (Config.Rebuild) as restored from nothing:
// what a restore does with a backup (casebook, restore.go), with a backup
// that held nothing. The office's leader then takes back from its parent
// and children what they hold of it (federation, recover.go).
func (n *Node) markRebuilt() error {
	book := n.office.Cases()
	if book.Len() != 0 || book.Applied() != 0 {
		return fmt.Errorf("node: --rebuild on %s, whose case book holds cases: it starts anew an office whose data is lost, on an empty data directory", n.cfg.DataDir)
	}
	if err := book.MarkRestored(rebuiltSince, 0); err != nil {
		return err
	}
	n.log.Warn("the office is rebuilt with no backup: it takes back from its neighbouring offices every case they hold of it, and numbers today's cases above those its lost disk may have handed out",
		"office", n.cfg.Office, "floor_above", book.NextSeq(n.now().In(registry.CST).Format("20060102"))-1)
	return nil
}
