package store

import (
	"bytes"
	"fmt"
	"strings"

	badger "github.com/dgraph-io/badger/v4"
)

// Prefix is one registered part of the store's key space: every key a
// package writes starts with the prefix of one of these.
type Prefix struct {
	Prefix string // the key's first bytes, e.g. "m/r/"
	Owner  string // the package that writes it
	Holds  string // what lives there (the owner's package doc has the layout)
}

// Prefixes is the registry of the key space: one line per prefix in use,
// grouped by namespace (a byte and a '/', see the package doc). A package
// that writes under a new prefix adds it here; TestPrefixesRegistered
// fails on a key prefix written in the code and not registered, and
// Unregistered finds the keys of a store that none covers.
var Prefixes = []Prefix{
	{"m/r/", "mpi", "source records: latest version, identity, pinned flag, blocking keys"},
	{"m/h/", "mpi", "source records' earlier versions"},
	{"m/n/", "mpi", "normalised forms of the versions"},
	{"m/i/", "mpi", "identities: members, attributes, or their survivor"},
	{"m/e/", "mpi", "membership events (append-only)"},
	{"m/x/", "mpi", "events touching an identity"},
	{"m/q/", "mpi", "reviews of pairs, pending or decided"},
	{"m/p/", "mpi", "the pending review queue"},
	{"m/ps/", "mpi", "the pending review queue by site (assigning authority)"},
	{"m/pi/", "mpi", "the pending reviews naming an identity (for the per-site queue)"},
	{"m/pv", "mpi", "the per-site review queue is built"},
	{"m/bv", "mpi", "the version of the blocking rules the source records are filed under"},
	{"m/d/", "mpi", "pairs of source keys marked distinct"},
	{"m/u/", "mpi", "the unmerge event that undid a merge"},
	{"m/s/", "mpi", "Badger sequences (identities, events, reviews, queue order)"},
	{"m/z/", "mpi", "tombstones of identities purged at the end of their retention"},
	{"m/y/", "mpi", "retention purge runs"},
	{"w/model/", "mpi", "every matching model version scored with"},
	{"w/current", "mpi", "the current matching model"},
	{"w/applied/", "mpi", "the trace of model changes on a live index"},
	{"l/x/", "ledger", "SOP instances stored, and where their row is"},
	{"l/d/", "ledger", "exam rows by site and date"},
	{"l/k/", "ledger", "exams of a source record"},
	{"l/f/", "ledger", "exactly-once markers of dose events per record"},
	{"l/t/", "ledger", "supersession of headers, per source record"},
	{"l/u/", "ledger", "the source records of a study"},
	{"l/q/", "ledger", "exams still to evaluate for alerts"},
	{"l/r/", "ledger", "studies whose dose report is still to queue for the subscribed systems"},
	{"l/v", "ledger", "the ledger's layout version"},
	{"a/tok/", "auth", "API keys"},
	{"a/acc/", "auth", "access codes"},
	{"a/bg/", "auth", "break-the-glass accesses"},
	{"a/log/", "audit", "the hash-chained audit trail"},
	{"a/ih/", "audit", "the audit trail's index: subject (its hash) then entry"},
	{"a/ihdone", "audit", "the last entry whose index keys are written"},
	{"x/a/", "dosimetry", "dose alerts"},
	{"x/m/", "dosimetry", "dose alerts' attachments"},
	{"x/g/", "dosimetry", "declared pregnancies"},
	{"e/site/", "sites", "member establishments"},
	{"e/sitegen", "sites", "count of the site registry's changes (Names keeps its lookup while it holds)"},
	{"h/msg/", "hl7", "HL7 v2 messages received, verbatim, with their acknowledgement, by sender and control id"},
	{"h/sub/", "hl7", "subscribers of the outbound notifications"},
	{"h/cur/", "hl7", "each subscriber's cursor in the patient index's events"},
	{"h/out/", "hl7", "notifications not yet acknowledged, per subscriber, in event order"},
	{"h/dose/", "hl7", "dose reports (ORU^R01) not yet acknowledged, per subscriber, in queue order"},
	{"h/dseq/", "hl7", "each subscriber's last dose report queued"},
	{"h/dver/", "hl7", "each study's last dose report version queued"},
	{"h/dbf/", "hl7", "each subscriber's backfill of dose reports (exams stored before it subscribed)"},
	{"s/layout", "store", "the store's layout version"},
	{"s/id", "store", "the store's identity"},
}

// Dropped lists prefixes that earlier versions wrote and that their owner
// removes when it opens a store: nothing writes there any more.
var Dropped = []Prefix{
	{"a/idn/", "audit", "the audit index by identity, as store keys written with each entry"},
	{"a/src/", "audit", "the audit index by source record, idem"},
	{"a/usr/", "audit", "the audit index by user, idem"},
	{"a/ix/", "audit", "the audit index in batches, the subjects' names whole (now a/ih/)"},
	{"a/ixdone", "audit", "the last entry indexed under a/ix/ (now a/ihdone)"},
}

// PrefixOf returns the registered prefix covering key, if one does.
func PrefixOf(key []byte) (Prefix, bool) {
	for _, p := range Prefixes {
		if bytes.HasPrefix(key, []byte(p.Prefix)) {
			return p, true
		}
	}
	return Prefix{}, false
}

// Unregistered returns up to max keys of db (all when max <= 0) that no
// registered prefix covers, as quoted strings: keys nobody documented, or
// left under a dropped prefix.
func Unregistered(db *DB, max int) ([]string, error) {
	var out []string
	err := db.View(func(txn *Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if _, ok := PrefixOf(it.Item().Key()); !ok {
				out = append(out, fmt.Sprintf("%q", it.Item().Key()))
				if max > 0 && len(out) >= max {
					return nil
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: scan the key space: %w", err)
	}
	return out, nil
}

// covered reports whether a key prefix found in the code is registered:
// under a registered prefix (a key built on it), or a namespace above
// registered ones ("m/", scanned whole by a backup or a purge), or dropped.
func covered(prefix string) bool {
	for _, list := range [][]Prefix{Prefixes, Dropped} {
		for _, p := range list {
			if strings.HasPrefix(prefix, p.Prefix) || (strings.HasSuffix(prefix, "/") && strings.HasPrefix(p.Prefix, prefix)) {
				return true
			}
		}
	}
	return false
}
