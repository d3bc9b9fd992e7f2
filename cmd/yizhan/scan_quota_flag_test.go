package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// A scan quota below zero, or past any disk, is refused naming its flag,
// before the node says it starts.
func TestABadScanQuotaIsRefusedNamingItsFlag(t *testing.T) {
	for _, v := range []string{"-1", "2000000"} {
		var out, errOut bytes.Buffer
		err := runNode(context.Background(), []string{"--office", "450122000000", "--data", t.TempDir(), "--scan-quota-mib", v}, &out, &errOut)
		if err == nil || !strings.Contains(err.Error(), "--scan-quota-mib") {
			t.Errorf("--scan-quota-mib %s: %v; want refused naming the flag", v, err)
		}
		if strings.Contains(errOut.String(), "starting") {
			t.Errorf("--scan-quota-mib %s: logged that it starts before refusing", v)
		}
	}
}
