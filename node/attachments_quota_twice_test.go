package node

import (
	"context"
	"fmt"
	"sync"
	"testing"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	"github.com/yizhan-gov/yizhan/casework"
)

// A new scan's first part sent twice at once (a client that gave up on
// the first call sends it again while the first is being applied): the
// file counts once against its office's quota, so both calls are
// answered, within a quota that holds the file once but not twice.
func TestAFirstPartSentAgainWhileTheFirstIsAppliedCountsOnce(t *testing.T) {
	n := countyLeader(t)
	const size = 300 << 10
	n.svc.SetScanQuota(size + size/2)
	for i := range 6 {
		office := fmt.Sprintf("4501221012%02d", 10+i)
		sha, data := scanFile(size, uint64(700+i))
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for j := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[j] = n.svc.PutAttachmentPart(context.Background(), &peerv1.PutAttachmentPart{Sha256: sha, Size: size,
					ContentType: casework.TypePDF, Data: data[:casework.AttachmentPartBytes/2], UploaderOffice: office})
			}()
		}
		wg.Wait()
		for j, err := range errs {
			if err != nil {
				t.Errorf("file %d, call %d: %v", i, j, err)
			}
		}
		if held, files := n.office.Cases().UnnamedBytes(office); held != size || files != 1 {
			t.Errorf("file %d: office %s counts %d bytes in %d files no case names, want %d in 1", i, office, held, files, size)
		}
	}
}
