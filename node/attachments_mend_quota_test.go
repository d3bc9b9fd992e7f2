package node_test

import (
	"path/filepath"
	"testing"

	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/node"
)

// A village's scan no case names yet goes bad on its disk, with the
// village's quota of such scans room for it but not for it twice. The
// filing naming it is refused (the copy is damaged); the agent hands the
// scan in again, which mends it and is not refused SCAN_QUOTA (the file
// counts once), and the case is filed.
func TestAScanNearTheQuotaIsMendedByHandingItInAgain(t *testing.T) {
	part := casework.AttachmentPartBytes
	size := 3 * part / 2
	f := newTunedCaseFed(t, 1, func(_ string, c *node.Config) { c.ScanQuota = int64(size + size/2) })
	village := f.nodes["dongcun-1"]
	agent := dial(t, village).login("dongcun", password)
	data := scan(size, 43)
	a := upload(t, agent, data, casework.TypePDF, "身份证.pdf")
	if err := village.Office().Cases().Sync(); err != nil {
		t.Fatal(err)
	}
	damageOnDisk(t, filepath.Join(f.cfgs["dongcun-1"].DataDir, "badger"), data[part+100:part+164])
	if _, err := fileWithScan(t, agent, "覃海燕", a); err == nil {
		t.Fatal("filed naming a damaged scan")
	}
	upload(t, agent, data, casework.TypePDF, "身份证.pdf")
	if _, err := fileWithScan(t, agent, "覃海燕", a); err != nil {
		t.Fatalf("the filing once the scan was handed in again: %v", err)
	}
}
