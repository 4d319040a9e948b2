// Command vigie is the single binary of the regional patient index and dose
// ledger: `vigie serve` runs the service, the other verbs are the command-line
// tools of operators, physicists and benchmarks. `vigie help` lists them.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"vigie"
)

// verb is one command-line verb. Each lives in its own file and registers
// itself from init, so that main stays a dispatcher.
type verb struct {
	name    string // may hold a space: "gen identities"
	summary string
	run     func(args []string, stdout, stderr io.Writer) error
}

var verbs = map[string]verb{}

func register(v verb) {
	if _, dup := verbs[v.name]; dup {
		panic("vigie: verb registered twice: " + v.name)
	}
	verbs[v.name] = v
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches args to a verb and returns the process exit status (see
// exitStatus).
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		return 0
	}
	// Longest match first: "gen identities" before "gen".
	for n := min(len(args), 3); n >= 1; n-- {
		name := strings.Join(args[:n], " ")
		if v, ok := verbs[name]; ok {
			err := v.run(args[n:], stdout, stderr)
			if err != nil && !errors.Is(err, flag.ErrHelp) {
				fmt.Fprintf(stderr, "vigie %s: %v\n", name, err)
			}
			return exitStatus(err)
		}
	}
	fmt.Fprintf(stderr, "vigie: unknown command %q (vigie help lists them)\n", strings.Join(args[:min(len(args), 2)], " "))
	return 2
}

// exitStatusTempFail is the exit status of a verb refused for want of a
// resource the operator can free (the store's disk under its reserve):
// EX_TEMPFAIL of sysexits.h, which schedulers read as "try again later".
const exitStatusTempFail = 75

// exitStatus maps a verb's error to the process exit status, once for
// every verb: 0 success (or -h), 2 usage or invalid input, 75 a resource
// exhausted (the disk: run again once space is freed), 1 any other
// failure.
func exitStatus(err error) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage), vigie.ErrorCode(err) == vigie.EINVALID:
		return 2
	case vigie.ErrorCode(err) == vigie.EEXHAUSTED:
		return exitStatusTempFail
	}
	return 1
}

// errUsage marks an error in the command line itself.
var errUsage = errors.New("usage")

func usageErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, args...))
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "vigie: regional patient index and radiation dose ledger")
	fmt.Fprintln(w, "\nUsage: vigie <command> [flags]\n\nCommands:")
	names := make([]string, 0, len(verbs))
	for n := range verbs {
		names = append(names, n)
	}
	sort.Strings(names)
	width := 0
	for _, n := range names {
		width = max(width, len(n))
	}
	for _, n := range names {
		fmt.Fprintf(w, "  %-*s %s\n", width, n, verbs[n].summary)
	}
	fmt.Fprintln(w, "\nvigie <command> -h shows a command's flags.")
}

// newFlagSet returns a flag set whose errors are returned, not printed-and-exit.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("vigie "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseFlags parses args into fs, returning flag.ErrHelp for -h and a usage
// error for anything else wrong.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageErr("%v", err)
	}
	return nil
}

// multiFlag is a flag that may be repeated (--authority A --authority B,
// --in full --in incremental): its values in the order given.
type multiFlag []string

func (m *multiFlag) String() string { return strings.Join(*m, ",") }

func (m *multiFlag) Set(v string) error {
	*m = append(*m, v)
	return nil
}

// newTable writes the aligned tables of the verbs that list (sites, keys,
// audit entries, alerts, exam types, NRD surveys): columns separated by
// tabs in what is written, padded with spaces, two apart. The caller
// flushes it.
func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
}

// parseNoArgs is parseFlags for the verbs that take flags only: a word
// left after the flags is a usage error rather than silently ignored (a
// value given without its flag name, or a flag after a stray word, which
// the flag package stops parsing at).
func parseNoArgs(fs *flag.FlagSet, args []string) error {
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr("unexpected argument %q", fs.Arg(0))
	}
	return nil
}
