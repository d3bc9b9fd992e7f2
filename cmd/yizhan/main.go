// Command yizhan runs a Yizhan node, manages the county CA, and runs a
// whole demo county on one machine.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

const usage = `yizhan — one stop: the government service platform of a county.

Usage:
  yizhan node [flags]             run one node of an office
  yizhan ca init --dir DIR        make the county CA
  yizhan ca issue --dir DIR --office CODE --node NAME [--host H,...] --out DIR
                                  make a node certificate that names its office
  yizhan backup --peer ADDR --out FILE [--tls-cert … --tls-key … --tls-ca …]
                                  an online backup of an office's state, from
                                  one of its nodes (a certificate of the office)
  yizhan restore --from FILE --data DIR --name NODE [--members N=ADDR,…]
                                  a node's data directory from a backup
  yizhan members --peer ADDR [--remove NODE] [--tls-cert … --tls-key … --tls-ca …]
                                  an office's raft members; --remove takes out
                                  a node gone for good (a certificate of the office)
  yizhan verify-export --ca ca.crt --in EXPORT.json
                                  check every signature of an export of urgent
                                  reports (format=json), as the upper office would
  yizhan demo [--data DIR] [--http-base-port N] [--log-level LEVEL]
                                  run a small county (3 county nodes, a township,
                                  two villages) on this machine
  yizhan version                  the version and the commit it was built from

Every flag can also be set by an environment variable: --http-addr is
YIZHAN_HTTP_ADDR. Run "yizhan COMMAND -h" for a command's flags.
`

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "yizhan:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch args[0] {
	case "node":
		return runNode(ctx, args[1:], stdout, stderr)
	case "ca":
		return runCA(args[1:], stdout, stderr)
	case "backup":
		return runBackup(ctx, args[1:], stdout, stderr)
	case "restore":
		return runRestore(args[1:], stdout, stderr)
	case "members":
		return runMembers(ctx, args[1:], stdout, stderr)
	case "verify-export":
		return runVerifyExport(args[1:], stdout, stderr)
	case "demo":
		return runDemo(ctx, args[1:], stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, readBuildInfo())
		return nil
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

// parseFlags parses args, taking each flag not given on the command line
// from its environment variable (YIZHAN_ + the flag's name in capitals).
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] {
			return
		}
		if v, ok := os.LookupEnv(envName(f.Name)); ok {
			if err := f.Value.Set(v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", envName(f.Name), err))
			}
		}
	})
	if fs.NArg() > 0 {
		errs = append(errs, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " ")))
	}
	return errors.Join(errs...)
}

func envName(flagName string) string {
	return "YIZHAN_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// flagLabel names where flag name's value came from, for an error about
// it: the environment variable when the command line did not give the
// flag and the variable is set (YIZHAN_LOG_LEVEL), the flag otherwise
// (--log-level).
func flagLabel(fs *flag.FlagSet, name string) string {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	if _, ok := os.LookupEnv(envName(name)); ok && !given {
		return envName(name)
	}
	return "--" + name
}

// newLogger makes the logger of level; label names where the level came
// from (flagLabel), for the error of one it cannot read.
func newLogger(w io.Writer, level, label string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("%s: %w", label, err)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
