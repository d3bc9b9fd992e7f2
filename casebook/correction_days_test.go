package casebook

import (
	"context"
	"testing"

	"github.com/dgraph-io/badger/v4"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
)

// A correction notice's wait is read from its event, not folded into the
// stored case: during a rolling upgrade an office of the previous release
// stores the case a notice of this release made (the event's new field
// kept in its bytes, the case without it), and after the upgrade from
// stats format 8 that case still checks as its events folded (a first
// version folded the days into Case, which the stored case then lacked);
// its due date is the notice's, whatever the county's policy says since.
func TestACorrectionNoticesDaysComeFromItsEventAfterAnUpgrade(t *testing.T) {
	reg := newRegistry(t)
	o := newOffice(t, county, reg)
	n := o.file(service, 1, Request{})
	o.act(n, casework.ActionRequestCorrection, &yizhanv1.CaseActionRequest{MissingMaterials: []string{"居民身份证"}, Reason: "缺身份证"})
	events := o.book.Events(n)
	if days := events[len(events)-1].GetCorrectionWaitDays(); days != casework.DefaultCorrectionWaitDays {
		t.Fatalf("the notice was given with %d days, want the default %d", days, casework.DefaultCorrectionWaitDays)
	}
	db := o.book.db
	if err := db.Update(func(txn *badger.Txn) error { return txn.Set(keyStatsFormat, be64(restepFrom)) }); err != nil {
		t.Fatal(err)
	}
	o.reopen()
	b := o.book
	problems, err := b.Check(context.Background(), reg)
	if err != nil || len(problems) > 0 {
		t.Fatalf("after the upgrade from format 8: %v %v", problems, err)
	}
	if _, err := reg.Apply(reg.Index()+1, &peerv1.RegistryCommand{AtUnixNano: o.now.UnixNano(), Actor: "county.admin",
		Op: &peerv1.RegistryCommand_PutCasePolicy{PutCasePolicy: &peerv1.PutCasePolicy{Policy: &yizhanv1.CasePolicy{CorrectionWaitDays: 10}}}}); err != nil {
		t.Fatal(err)
	}
	c, _ := b.Case(n)
	notice := c.GetCorrectionNoticeAt().AsTime()
	due := casework.Clocks(c, b.Events(n), reg, o.now).GetCorrectionDue().AsTime()
	if got := due.Sub(notice).Hours() / 24; got < 30 || got > 31 {
		t.Errorf("the notice's due date %s, %.1f days after it (the policy says 10 since): want its own 30", due, got)
	}
}
