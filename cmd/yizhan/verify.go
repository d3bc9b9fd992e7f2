package main

import (
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"google.golang.org/protobuf/encoding/protojson"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/auth"
	"github.com/yizhan-gov/yizhan/duty"
	"github.com/yizhan-gov/yizhan/federation/pki"
	"github.com/yizhan-gov/yizhan/registry"
)

// runVerifyExport checks a JSON export of urgent reports
// (GET /v1/duty/reports:export?format=json) away from the federation, as
// the upper office receiving it would: the whole signed by a node of the
// exporting office, each report, acknowledgement and flag by a node of
// the office it names, every certificate issued by the county CA and
// valid when the export was made.
func runVerifyExport(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("verify-export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	caFile := fs.String("ca", "", "the county CA certificate (PEM: the ca.crt that yizhan ca init wrote, or a node's tls/ca.crt)")
	in := fs.String("in", "", "the export (JSON: GET /v1/duty/reports:export?format=json)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: yizhan verify-export --ca ca.crt --in EXPORT.json")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *caFile == "" || *in == "" {
		fs.Usage()
		return errors.New("verify-export needs --ca and --in")
	}
	caPEM, err := os.ReadFile(*caFile)
	if err != nil {
		return err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		return fmt.Errorf("%s: no certificate in it", *caFile)
	}
	data, err := os.ReadFile(*in)
	if err != nil {
		return err
	}
	sum, err := verifyExport(data, roots)
	if err != nil {
		return fmt.Errorf("%s: %w", *in, err)
	}
	fmt.Fprintln(stdout, sum)
	return nil
}

// verifyExport checks every signature of an export and says what it
// holds; the first signature that does not hold is the error.
func verifyExport(data []byte, roots *x509.CertPool) (string, error) {
	x := &yizhanv1.ReportExport{}
	if err := protojson.Unmarshal(data, x); err != nil {
		return "", fmt.Errorf("not a report export: %w", err)
	}
	at := x.GetExportedAt().AsTime()
	if x.GetExportedAt() == nil {
		return "", errors.New("not a report export: no exported_at")
	}
	check := func(what, office string, hash, sig []byte, chain [][]byte) (string, error) {
		id, leaf, err := pki.VerifyChainAt(roots, chain, at)
		if err != nil {
			return "", fmt.Errorf("%s: signer certificate: %w", what, err)
		}
		if id.Office != office {
			return "", fmt.Errorf("%s is of office %s but was signed by a node of %s", what, office, id.Office)
		}
		if auth.VerifySignature(leaf, hash, sig) != nil {
			return "", fmt.Errorf("%s: its signature (by node %s) does not match its content: changed after signing", what, id.Node)
		}
		return id.Node, nil
	}
	// The records first, so that a changed one is named; then the whole.
	for _, r := range x.GetReports() {
		if _, err := check("report "+r.GetId(), r.GetOfficeCode(), duty.Hash(r), r.GetSignature(), r.GetSignerChain()); err != nil {
			return "", err
		}
	}
	for _, a := range x.GetAcks() {
		if _, err := check("acknowledgement "+a.GetId(), a.GetOfficeCode(), duty.Hash(a), a.GetSignature(), a.GetSignerChain()); err != nil {
			return "", err
		}
	}
	for _, f := range x.GetUnsigned() {
		if len(f.GetSignature()) == 0 {
			continue // a flag raised where it is held, not carried up signed
		}
		if _, err := check("unsigned-report flag of "+f.GetReportId(), f.GetOfficeCode(), duty.Hash(f), f.GetSignature(), f.GetSignerChain()); err != nil {
			return "", err
		}
	}
	node, err := check("the export", x.GetOfficeCode(), duty.Hash(x), x.GetSignature(), x.GetSignerChain())
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("export of office %s, %s to %s, made %s by node %s: %d reports, %d acknowledgements, %d unsigned-report flags; every signature holds",
		x.GetOfficeCode(), x.GetFrom(), x.GetTo(), at.In(registry.CST).Format("2006-01-02 15:04:05"), node,
		len(x.GetReports()), len(x.GetAcks()), len(x.GetUnsigned())), nil
}
