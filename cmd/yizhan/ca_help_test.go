package main

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"
)

// The usage says: Run "yizhan COMMAND -h" for a command's flags. For
// `ca` that was an error ("unknown ca command \"-h\"", exit status 1); it
// lists its commands now. And every `yizhan COMMAND` the chart's
// values.yaml names is a command of the binary (it named `yizhan pki
// issue`, which is `ca issue`).
func TestTheHelpAndTheCommandsTheChartNames(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run([]string{"ca", "-h"}, &out, &errOut); err != nil {
		t.Errorf("yizhan ca -h: %v (stderr %q)", err, errOut.String())
	}
	if got := out.String(); !strings.Contains(got, "init") || !strings.Contains(got, "issue") {
		t.Errorf("yizhan ca -h prints %q, want its commands", got)
	}
	values, err := os.ReadFile("../../charts/yizhan/values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile("`yizhan ([a-z-]+)").FindAllStringSubmatch(string(values), -1) {
		out.Reset()
		errOut.Reset()
		if err := run([]string{m[1], "-h"}, &out, &errOut); err != nil && strings.Contains(err.Error(), "unknown command") {
			t.Errorf("charts/yizhan/values.yaml names `yizhan %s`; the binary: %v", m[1], err)
		}
	}
}
