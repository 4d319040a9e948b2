package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"vigie"

	"vigie/audit"
	"vigie/ledger"
	"vigie/matcher"
	"vigie/mpi"
	"vigie/rpc/admin"
	"vigie/search"
	"vigie/store"
)

func init() {
	register(verb{name: "verify", summary: "check a store's invariants: links, exams' records, search index, audit chain (server stopped)", run: runVerify})
}

// maxViolations bounds the violations a verify lists.
const maxViolations = 50

func runVerify(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("verify", stderr)
	data := dataFlag(fs, "no server may hold it")
	keyFile := encryptionKeyFlag(fs)
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	db, err := openOffline(*data, *keyFile)
	if err != nil {
		return err
	}
	defer db.Close()
	return verifyStore(context.Background(), db, *data, stdout)
}

// errViolations is returned when a store breaks its invariants.
var errViolations = errors.New("the store breaks its invariants")

// verifyStore checks the store's invariants and writes a summary to w:
//
//   - the patient index (mpi.Index.Verify): every record's identity exists
//     and lists it, every identity's members exist, events replay to the
//     links;
//   - every exam's source record is in the patient index;
//   - the search index, when data holds one, has one document per live
//     identity once caught up with the patient index;
//   - the audit chain is intact (audit.Log.Verify).
//
// It returns errViolations (wrapped, with the count) when one fails. data
// is the store's folder ("" skips the search index: a store being
// restored has none yet).
func verifyStore(ctx context.Context, db *store.DB, data string, w io.Writer) error {
	var sum store.Summary
	if err := db.View(func(txn *store.Txn) error {
		var err error
		sum, err = admin.Summarize(txn)
		return err
	}); err != nil {
		return err
	}
	layout, err := store.Layout(db)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "store layout %d: %d source records, %d identities (live and retired), %d exams\n",
		layout, sum.Counts["records"], sum.Counts["identities"], sum.Counts["exams"])
	var bad []string
	report := func(format string, args ...any) {
		if len(bad) < maxViolations {
			bad = append(bad, fmt.Sprintf(format, args...))
		}
	}
	ix, err := mpi.Open(db, matcher.DefaultModel(), mpi.Options{})
	if err != nil {
		return err
	}
	defer ix.Close()
	if err := ix.Verify(ctx); err != nil {
		var joined interface{ Unwrap() []error }
		if errors.As(err, &joined) {
			for _, e := range joined.Unwrap() {
				report("patient index: %v", e)
			}
		} else {
			report("patient index: %v", err)
		}
	}
	records := map[vigie.SourceKey]bool{}
	live := map[vigie.IdentityID]bool{}
	if err := ix.Links(ctx, func(k vigie.SourceKey, id vigie.IdentityID) error {
		records[k] = true
		live[id] = true
		return nil
	}); err != nil {
		return err
	}
	exams := 0
	if err := ledger.Open(db).Each(ctx, func(e *ledger.Entry) error {
		exams++
		k := vigie.SourceKey{Authority: e.Exam.Key.Authority, LocalID: e.Exam.Key.LocalID}
		if !records[k] {
			report("exam %s: its source record %s is not in the patient index", e.Exam.SOPInstanceUID, k.Authority+"/…")
		}
		return nil
	}); err != nil {
		return err
	}
	fmt.Fprintf(w, "patient index and ledger: %d records linked to %d live identities, %d exams checked\n", len(records), len(live), exams)
	switch {
	case data != "" && storeEncrypted(db):
		fmt.Fprintln(w, "search index: kept in memory (encrypted store), rebuilt by vigie serve at each start")
	case data != "":
		if _, err := os.Stat(searchDir(data)); err == nil {
			sx, _, err := openSearchIndexOnly(data, ix, false, search.Options{}, func(string) {})
			if err != nil {
				return err
			}
			_, cerr := sx.CatchUp(ctx, ix)
			n, lerr := sx.Len()
			sx.Close()
			switch {
			case cerr != nil:
				report("search index: catching up failed: %v", cerr)
			case lerr != nil:
				report("search index: %v", lerr)
			case n != len(live):
				report("search index: %d identities indexed, the patient index has %d live (remove %s with the service stopped: it is rebuilt at the next start)", n, len(live), searchDir(data))
			default:
				fmt.Fprintf(w, "search index: %d identities, consistent\n", n)
			}
		} else {
			fmt.Fprintln(w, "search index: none (built at the next start of vigie serve)")
		}
	}
	trail, err := audit.Open(db)
	if err != nil {
		return err
	}
	rep, err := trail.Verify()
	trail.Close()
	if err != nil {
		return err
	}
	if rep.Broken != nil {
		report("audit trail broken: %v (the %d entries before it are intact)", rep.Broken, rep.Entries)
	} else {
		fmt.Fprintf(w, "audit trail intact: %d entries, head %d:%x\n", rep.Entries, rep.Entries, rep.Head)
	}
	for _, b := range bad {
		fmt.Fprintf(w, "VIOLATION %s\n", b)
	}
	if len(bad) > 0 {
		return fmt.Errorf("%w: %d violations listed (at most %d)", errViolations, len(bad), maxViolations)
	}
	fmt.Fprintln(w, "verify: ok")
	return nil
}
