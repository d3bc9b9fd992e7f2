package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/yizhan-gov/yizhan/federation/pki"
)

// caUsage is `yizhan ca`'s commands.
const caUsage = `usage: yizhan ca COMMAND [flags]

  init    make the county CA (ca.crt, ca.key) in --dir
  issue   issue a node certificate of an office from the CA in --dir

Run "yizhan ca COMMAND -h" for a command's flags.
`

func runCA(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, caUsage)
		return errors.New("usage: yizhan ca init|issue [flags]")
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, caUsage)
		return nil
	case "init":
		fs := flag.NewFlagSet("ca init", flag.ContinueOnError)
		fs.SetOutput(stderr)
		dir := fs.String("dir", "", "directory for ca.crt and ca.key (required)")
		name := fs.String("name", "Yizhan county CA", "the CA's common name")
		if err := parseFlags(fs, args[1:]); err != nil {
			return err
		}
		if *dir == "" {
			return errors.New("--dir is required")
		}
		if err := pki.InitCA(*dir, *name); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "county CA written to %s (keep ca.key offline)\n", *dir)
		return nil
	case "issue":
		fs := flag.NewFlagSet("ca issue", flag.ContinueOnError)
		fs.SetOutput(stderr)
		dir := fs.String("dir", "", "the CA's directory (required)")
		office := fs.String("office", "", "12-digit division code the certificate names (required)")
		node := fs.String("node", "", "node name the certificate names (empty: any node of the office)")
		hosts := fs.String("host", "", "comma-separated DNS names and IP addresses of the node")
		out := fs.String("out", "", "directory for node.crt, node.key and ca.crt (required)")
		if err := parseFlags(fs, args[1:]); err != nil {
			return err
		}
		if *dir == "" || *office == "" || *out == "" {
			return errors.New("--dir, --office and --out are required")
		}
		id := pki.Identity{Office: *office, Node: *node}
		if err := pki.IssueNode(*dir, id, splitList(*hosts), *out); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "certificate for %s written to %s\n", id.URI(), *out)
		return nil
	}
	return fmt.Errorf("unknown ca command %q", args[0])
}
