package node

import (
	"fmt"

	"github.com/yizhan-gov/yizhan/casebook"
	"github.com/yizhan-gov/yizhan/registry"
)

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
	if err := book.MarkRestored(casebook.RebuiltSince, 0); err != nil {
		return err
	}
	n.log.Warn("the office is rebuilt with no backup: it takes back from its neighbouring offices every case they hold of it, and numbers today's cases above those its lost disk may have handed out",
		"office", n.cfg.Office, "floor_above", book.NextSeq(n.now().In(registry.CST).Format("20060102"))-1)
	return nil
}
