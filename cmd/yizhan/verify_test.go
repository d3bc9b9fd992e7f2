package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/auth"
	"github.com/yizhan-gov/yizhan/duty"
	"github.com/yizhan-gov/yizhan/federation/pki"
)

// signerOf is a node of office under ca, as auth signs records.
func signerOf(t *testing.T, ca *pki.CA, office, node string) *auth.Issuer {
	t.Helper()
	certPEM, keyPEM, err := ca.Issue(pki.Identity{Office: office, Node: node}, []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := pki.LoadPEM(certPEM, keyPEM, ca.CertPEM())
	if err != nil {
		t.Fatal(err)
	}
	return auth.NewIssuer(b.Signer(), b.Certificate.Certificate, office, node, 0, nil)
}

// The upper office checks a county's JSON export of urgent reports with
// the county CA alone: every signature holds; a changed figure, a report
// signed by a node of another office, or another CA does not.
func TestVerifyExport(t *testing.T) {
	const county, village = "450122000000", "450122101203"
	ca, err := pki.GenerateCA("青山县")
	if err != nil {
		t.Fatal(err)
	}
	countyNode, villageNode := signerOf(t, ca, county, "county-1"), signerOf(t, ca, village, "dongcun-1")
	sign := func(i *auth.Issuer, hash []byte) ([]byte, [][]byte) {
		sig, err := i.Sign(hash)
		if err != nil {
			t.Fatal(err)
		}
		return sig, i.Chain()
	}
	export := func(reportSigner *auth.Issuer) []byte {
		r := &yizhanv1.UrgentReport{Id: "BG-" + village + "-20261202-0001", OfficeCode: village, Title: "东村山体滑坡", Deaths: 0}
		r.Signature, r.SignerChain = sign(reportSigner, duty.Hash(r))
		a := &yizhanv1.ReportAck{Id: "QS-" + county + "-" + r.GetId(), ReportId: r.GetId(), OfficeCode: county}
		a.Signature, a.SignerChain = sign(countyNode, duty.Hash(a))
		x := &yizhanv1.ReportExport{OfficeCode: county, From: "2026-12-01", To: "2026-12-02",
			ExportedAt: timestamppb.New(time.Now()), Reports: []*yizhanv1.UrgentReport{r}, Acks: []*yizhanv1.ReportAck{a}}
		x.Signature, x.SignerChain = sign(countyNode, duty.Hash(x))
		b, err := protojson.Marshal(x)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, ca.CertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	verify := func(data []byte) (string, error) {
		t.Helper()
		f := filepath.Join(dir, "export.json")
		if err := os.WriteFile(f, data, 0o600); err != nil {
			t.Fatal(err)
		}
		var out, errOut bytes.Buffer
		err := run([]string{"verify-export", "--ca", caFile, "--in", f}, &out, &errOut)
		return out.String(), err
	}

	good := export(villageNode)
	if out, err := verify(good); err != nil || !strings.Contains(out, "1 reports, 1 acknowledgements") || !strings.Contains(out, "node county-1") {
		t.Fatalf("a good export: %q, %v", out, err)
	}
	changed := bytes.Replace(good, []byte("东村山体滑坡"), []byte("东村无事"), 1)
	if _, err := verify(changed); err == nil || !strings.Contains(err.Error(), "report BG-") {
		t.Errorf("a changed report verifies: %v", err)
	}
	period := bytes.Replace(good, []byte(`"2026-12-02"`), []byte(`"2026-12-31"`), 1)
	if _, err := verify(period); err == nil || !strings.Contains(err.Error(), "the export") {
		t.Errorf("an export with its period changed verifies: %v", err)
	}
	if _, err := verify(export(countyNode)); err == nil || !strings.Contains(err.Error(), "signed by a node of "+county) {
		t.Errorf("a village's report signed at the county verifies: %v", err)
	}
	other, err := pki.GenerateCA("别的县")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(caFile, other.CertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := verify(good); err == nil || !strings.Contains(err.Error(), "signer certificate") {
		t.Errorf("an export checked with another county's CA: %v", err)
	}
}
