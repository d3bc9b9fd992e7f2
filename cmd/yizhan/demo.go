package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/yizhan-gov/yizhan/demo"
)

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "demo-data", "directory for the demo's data (reused when run again)")
	base := fs.Int("http-base-port", 8400, "node i serves HTTP on this port + i (county nodes first, then the township, then the villages; i from 0 to 5), its peer links on this port + 100 + i and raft on this port + 200 + i; a data directory keeps the ports of its first run")
	logLevel := fs.String("log-level", "warn", "debug, info, warn or error")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	privateFiles()
	logger, err := newLogger(stderr, *logLevel, flagLabel(fs, "log-level"))
	if err != nil {
		return err
	}
	logger.Info("yizhan demo starting", readBuildInfo().logAttrs()...)
	fmt.Fprintf(stdout, "starting a demo county in %s …\n", *data)
	county, err := demo.Start(ctx, demo.Options{DataDir: *data, HTTPBasePort: *base, Out: stdout, Logger: logger})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout)
	county.PrintNodes(stdout)
	village := county.Nodes[len(county.Nodes)-1].HTTPAddr()
	if len(county.Cases) > 0 {
		fmt.Fprintln(stdout, "\nSample cases (number, query code, item, where it stands):")
		for _, c := range county.Cases {
			fmt.Fprintf(stdout, "  %s  %s  %s: %s\n", c.Number, c.QueryCode, c.Item, c.Story)
		}
	}
	fmt.Fprintf(stdout, `
Staff sign in with the password %s (demo only): admin (county admin),
chenjing and wangqiang (county windows), lihua (城关镇), dongcun and xicun
(village agents).
Try:
  curl -s http://%s/v1/items
  curl -s http://%s/v1/registry/status
`, demo.AdminPassword, village, village)
	if len(county.Cases) > 0 {
		fmt.Fprintf(stdout, "  curl -s 'http://%s/v1/cases/%s?query_code=%s'\n", village, county.Cases[0].Number, county.Cases[0].QueryCode)
	}
	fmt.Fprintln(stdout, "Press Ctrl-C to stop.")
	<-ctx.Done()
	fmt.Fprintln(stdout, "stopping …")
	county.Close()
	return nil
}
