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
	base := fs.Int("http-base-port", 8400, "node i serves HTTP on this port + i (county nodes first, then the township, then the villages)")
	logLevel := fs.String("log-level", "warn", "debug, info, warn or error")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	logger, err := newLogger(stderr, *logLevel)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "starting a demo county in %s …\n", *data)
	county, err := demo.Start(ctx, demo.Options{DataDir: *data, HTTPBasePort: *base, Out: stdout, Logger: logger})
	if err != nil {
		return err
	}
	county.PrintNodes(stdout)
	fmt.Fprintf(stdout, `
The county admin signs in as admin / %s (demo only).
Try:
  curl -s http://%s/v1/items
  curl -s http://%s/v1/registry/status
Press Ctrl-C to stop.
`, demo.AdminPassword, county.Nodes[len(county.Nodes)-1].HTTPAddr(), county.Nodes[len(county.Nodes)-1].HTTPAddr())
	<-ctx.Done()
	fmt.Fprintln(stdout, "stopping …")
	county.Close()
	return nil
}
