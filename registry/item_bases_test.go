package registry

import (
	"testing"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// The catalogue's "eight publics" (八公开) are what the county publishes
// for every item; two of them the law asks of the item itself, and they
// were not checked: a 行政许可 with no 设定依据 (a licence is set by law,
// 行政许可法 §§14–17) and an item that charges a fee with no 收费依据
// (§58: a fee only as a law or administrative regulation says; an
// unauthorised fee is a supervision trigger) were accepted and published.
// Check (what every proposer runs; Apply and Replay do not, so a log
// written before stays valid) names the field. An item published before
// without them can still be changed (retired, say).
func TestAnItemNamesItsLegalAndFeeBasis(t *testing.T) {
	r := newCounty(t)

	noBasis := validItem("YC-001")
	noBasis.LegalBasis = ""
	if err := r.Check(createItem(noBasis)); err == nil {
		t.Errorf("a 行政许可 item with no legal_basis (设定依据) was accepted")
	} else {
		wantViolation(t, err, "item.legal_basis")
	}

	fee := validItem("YC-002")
	fee.FeeCents = 5000
	fee.FeeStandard = "每证50元"
	fee.FeeBasis = ""
	if err := r.Check(createItem(fee)); err == nil {
		t.Errorf("an item charging %d fen with no fee_basis (收费依据) was accepted", fee.FeeCents)
	} else {
		wantViolation(t, err, "item.fee_basis")
	}

	// And the same through an edit of a valid item.
	mustApply(t, r, createItem(validItem("YC-003")))
	edit := validItem("YC-003")
	edit.LegalBasis = ""
	edit.ChangeNote = "清理"
	if err := r.Check(updateItem(edit, 1)); err == nil {
		t.Errorf("an edit removing a licence's legal_basis was accepted")
	} else {
		wantViolation(t, err, "item.legal_basis")
	}

	// An item an older release published without one: applied as the log
	// holds it, then retired.
	old := validItem("YC-004")
	old.LegalBasis = ""
	mustApply(t, r, createItem(old))
	retire := validItem("YC-004")
	retire.LegalBasis, retire.Retired, retire.ChangeNote = "", true, "依据县政府第 12 号文废止"
	if err := r.Check(updateItem(retire, 1)); err != nil {
		t.Errorf("retiring an item published without a legal basis: %v", err)
	}
	if it := validItem("YC-005"); it.GetType() != yizhanv1.ItemType_ITEM_TYPE_LICENCE {
		t.Fatalf("validItem is a %v, not a licence", it.GetType())
	}
}
