package retention

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"vigie"
	"vigie/audit"
	"vigie/dosimetry"
	"vigie/ledger"
	"vigie/mpi"
	"vigie/store"
)

// PurgeOperation names a purge in the audit trail.
const PurgeOperation = "vigie retention purge"

// Item is one identity of a report: its id and dates, never a name.
type Item struct {
	ID          vigie.IdentityID
	LastContact time.Time
	Deadline    Deadline
	Records     int
	Exams       int
	// Held is why an identity past its deadline is not purged ("": it
	// is): a pending review names it.
	Held string
}

// Report lists the identities past their deadline on a day.
type Report struct {
	AsOf       time.Time
	Identities int    // live identities checked
	Past       []Item // past their deadline, to purge, in id order
	Held       []Item // past their deadline but held
	// Token confirms a purge of exactly Past (see Purge): the day and a
	// digest of the ids.
	Token string
}

// Build computes the report as of the day asOf in one consistent read.
func Build(db *store.DB, asOf time.Time) (*Report, error) {
	var r *Report
	err := db.View(func(txn *store.Txn) error {
		var err error
		r, _, err = build(txn, asOf)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("retention: report: %w", err)
	}
	return r, nil
}

// build computes the report in txn, and returns the patients past their
// deadline and not held, by id.
func build(txn *store.Txn, asOf time.Time) (*Report, map[vigie.IdentityID]*mpi.Patient, error) {
	asOf = day(asOf)
	exams, err := ledger.LastExams(txn)
	if err != nil {
		return nil, nil, err
	}
	r := &Report{AsOf: asOf}
	past := map[vigie.IdentityID]*mpi.Patient{}
	err = mpi.Patients(txn, func(p *mpi.Patient) error {
		r.Identities++
		it := Item{ID: p.ID, Records: len(p.Members), Held: p.Held}
		it.LastContact, _ = lastContact(p, func(k vigie.SourceKey) (time.Time, error) {
			e := exams[k]
			it.Exams += e.N
			return e.Last, nil
		})
		it.Deadline = Of(Facts{LastContact: it.LastContact, Births: p.Births}, asOf)
		if !it.Deadline.Past(asOf) {
			return nil
		}
		if it.Held != "" {
			r.Held = append(r.Held, it)
			return nil
		}
		r.Past = append(r.Past, it)
		past[p.ID] = p
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	r.Token = token(asOf, r.Past)
	return r, past, nil
}

// lastContact is a patient's last contact (Facts.LastContact): the latest
// of its records' updates and of their exams, lastExam giving a record's
// latest exam. The report and the purge's second reading both use it, so
// that they apply the rule to the same date.
func lastContact(p *mpi.Patient, lastExam func(vigie.SourceKey) (time.Time, error)) (time.Time, error) {
	last := p.LastUpdate
	for _, k := range p.Members {
		e, err := lastExam(k)
		if err != nil {
			return time.Time{}, err
		}
		if e.After(last) {
			last = e
		}
	}
	return last, nil
}

// token is the confirmation of a list: the day, and the first 12 bytes of
// a SHA-256 of the day and the ids.
func token(asOf time.Time, items []Item) string {
	h := sha256.New()
	fmt.Fprintf(h, "vigie retention %s", asOf.Format(time.DateOnly))
	for _, it := range items {
		fmt.Fprintf(h, " %d", it.ID)
	}
	return asOf.Format("20060102") + "-" + hex.EncodeToString(h.Sum(nil)[:12])
}

// ParseToken returns the day of a token's report.
func ParseToken(tok string) (time.Time, error) {
	d, digest, ok := strings.Cut(tok, "-")
	t, err := time.Parse("20060102", d)
	if !ok || err != nil || len(digest) != 24 {
		return time.Time{}, vigie.Invalid("confirm", "%q is not a token printed by vigie retention report", tok)
	}
	if _, err := hex.DecodeString(digest); err != nil {
		return time.Time{}, vigie.Invalid("confirm", "%q is not a token printed by vigie retention report", tok)
	}
	return t, nil
}

// PurgeOptions tune a purge.
type PurgeOptions struct {
	// Token is the report's confirmation (required).
	Token string
	// Actor is who confirms: recorded in the events, the tombstones and
	// the audit trail (required).
	Actor string
	// Trail receives an audit entry per identity purged (required).
	Trail *audit.Log
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Log receives a line per identity: ids and counts, never patient data.
	Log *slog.Logger
	// Purged, when set, is called after each identity's purge committed
	// (tests: a crash between two identities).
	Purged func(id vigie.IdentityID)
}

// PurgeResult says what a purge did.
type PurgeResult struct {
	Run     mpi.PurgeRun
	Resumed bool // the run had started before (interrupted) and went on
	Purged  int  // identities purged by this call
	Before  int  // identities of the run purged by an earlier call
	// Kept are identities of the run left in place: no longer past their
	// deadline (a contact since the report) or held since.
	Kept   []vigie.IdentityID
	Counts mpi.PurgeCounts // removed by this call
}

// Purge removes the identities a report listed, once its token confirms
// the list: the report is computed again as of the token's day, and must
// give the same token, so that what is removed is exactly what the
// operator read. The run (token, day, ids) is recorded first; a purge
// interrupted midway is resumed by the same command with the same token,
// which then goes on with the recorded list.
//
// Each identity is removed in one transaction with everything of it
// (mpi.PurgeIn, the ledger's exams of its records, their dose alerts),
// after its dates are read again in that transaction: an identity that
// had a contact since (a record or an exam, at any site of the region)
// is kept. The tombstone is written in the same transaction; the audit
// entry just after it commits, and the tombstone then records the
// entry's sequence. A purge interrupted between the two writes the audit
// entry when it resumes (once: it looks for it first). Nothing is ever
// half removed.
//
// The store must not be served meanwhile (the verb opens it, which a
// running server prevents).
func Purge(ctx context.Context, db *store.DB, o PurgeOptions) (PurgeResult, error) {
	var res PurgeResult
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if strings.TrimSpace(o.Actor) == "" {
		return res, vigie.Invalid("actor", "required: who confirms the purge (recorded in the audit trail)")
	}
	if o.Trail == nil {
		return res, vigie.Errorf(vigie.EINTERNAL, "retention: purge without an audit trail")
	}
	asOf, err := ParseToken(o.Token)
	if err != nil {
		return res, err
	}
	if asOf.After(day(now())) {
		return res, vigie.Invalid("confirm", "the token is of a report as of %s, a day still to come: a purge removes only what is past its deadline today or before", asOf.Format(time.DateOnly))
	}
	var rep *Report
	var past map[vigie.IdentityID]*mpi.Patient
	var alerts map[vigie.SourceKey][]string
	var run mpi.PurgeRun
	found := false
	err = db.View(func(txn *store.Txn) error {
		var err error
		if rep, past, err = build(txn, asOf); err != nil {
			return err
		}
		if alerts, err = dosimetry.AlertsByRecord(txn); err != nil {
			return err
		}
		run, found, err = mpi.PurgeRunIn(txn, o.Token)
		return err
	})
	if err != nil {
		return res, fmt.Errorf("retention: purge: %w", err)
	}
	switch {
	case found:
		res.Resumed = run.Done.IsZero()
	case rep.Token != o.Token:
		return res, &vigie.Error{Code: vigie.ECONFLICT, Field: "confirm", Message: fmt.Sprintf(
			"the list changed since the report that printed this token: as of %s it now holds %d identities (token %s); run vigie retention report again and read it before you confirm",
			asOf.Format(time.DateOnly), len(rep.Past), rep.Token)}
	default:
		run = mpi.PurgeRun{Token: o.Token, AsOf: asOf.Format(time.DateOnly), Started: now().UTC()}
		for _, it := range rep.Past {
			run.IDs = append(run.IDs, it.ID)
		}
		if err := store.Update(db, func(txn *store.Txn) error { return mpi.SetPurgeRunIn(txn, run) }); err != nil {
			return res, fmt.Errorf("retention: record the purge run: %w", err)
		}
	}
	log.Info("retention purge", "run", run.Token, "as_of", run.AsOf, "identities", len(run.IDs), "resumed", res.Resumed)
	for _, id := range run.IDs {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		var t mpi.Tombstone
		var done bool
		if err := db.View(func(txn *store.Txn) error {
			var err error
			t, done, err = mpi.TombstoneIn(txn, id)
			return err
		}); err != nil {
			return res, fmt.Errorf("retention: purge identity %s: %w", id, err)
		}
		if done {
			res.Before++
			if t.Audit == 0 {
				if err := audited(db, o.Trail, t); err != nil {
					return res, err
				}
			}
			continue
		}
		p := past[id]
		if p == nil {
			res.Kept = append(res.Kept, id)
			log.Info("retention purge: identity kept (no longer past its deadline, or held)", "run", run.Token, "identity", id.String())
			continue
		}
		t, err := purgeOne(db, p, alerts, asOf, now().UTC(), o.Actor, run.Token)
		if errors.Is(err, errRecent) {
			res.Kept = append(res.Kept, id)
			log.Info("retention purge: identity kept (a contact since the report)", "run", run.Token, "identity", id.String())
			continue
		}
		if err != nil {
			return res, fmt.Errorf("retention: purge identity %s: %w", id, err)
		}
		res.Purged++
		add(&res.Counts, t.Counts)
		log.Info("retention purge: identity removed", "run", run.Token, "identity", id.String(), "records", t.Counts.Records,
			"versions", t.Counts.Versions, "exams", t.Counts.Exams, "events_removed", t.Counts.EventsRemoved, "event", t.Event)
		if o.Purged != nil {
			o.Purged(id)
		}
		if err := audited(db, o.Trail, t); err != nil {
			return res, err
		}
	}
	if run.Done.IsZero() {
		run.Done = now().UTC()
		if err := store.Update(db, func(txn *store.Txn) error { return mpi.SetPurgeRunIn(txn, run) }); err != nil {
			return res, fmt.Errorf("retention: record the end of the purge run: %w", err)
		}
	}
	res.Run = run
	return res, nil
}

var errRecent = errors.New("a contact since the report")

// purgeOne removes one identity in one transaction, after reading its
// dates again there.
func purgeOne(db *store.DB, p *mpi.Patient, alerts map[vigie.SourceKey][]string, asOf, now time.Time, actor, run string) (mpi.Tombstone, error) {
	var t mpi.Tombstone
	err := store.Update(db, func(txn *store.Txn) error {
		cur, err := mpi.PatientIn(txn, p.ID)
		if err != nil {
			return err
		}
		last, err := lastContact(cur, func(k vigie.SourceKey) (time.Time, error) { return ledger.LastExamIn(txn, k) })
		if err != nil {
			return err
		}
		d := Of(Facts{LastContact: last, Births: cur.Births}, asOf)
		if !d.Past(asOf) {
			return errRecent
		}
		cur.Retired, cur.Reviews = p.Retired, p.Reviews
		t = mpi.Tombstone{Purged: now, Actor: mpi.Actor(actor), Run: run, Rule: d.Rule}
		for _, k := range cur.Members {
			lk := k
			n, err := ledger.PurgeRecordIn(txn, lk)
			if err != nil {
				return err
			}
			t.Counts.Exams += n
			for _, a := range alerts[lk] {
				if err := dosimetry.DeleteAlertIn(txn, a); err != nil {
					return err
				}
				t.Counts.Alerts++
			}
		}
		return mpi.PurgeIn(txn, cur, &t)
	})
	if errors.Is(err, store.ErrTxnTooBig) {
		return t, fmt.Errorf("%w: the identity is too large to remove in one transaction (%d records)", err, len(p.Members))
	}
	return t, err
}

// audited writes the audit entry of a purged identity, unless the trail
// already holds it (a purge interrupted between the two), and records
// its sequence in the tombstone.
func audited(db *store.DB, trail *audit.Log, t mpi.Tombstone) error {
	cred := "purge:" + t.Run
	var seq uint64
	prior, err := trail.ByIdentity(t.Identity.String(), 100)
	if err != nil {
		return fmt.Errorf("retention: audit of identity %s: %w", t.Identity, err)
	}
	for _, e := range prior {
		if e.Operation == PurgeOperation && e.Credential == cred {
			seq = e.Seq
		}
	}
	if seq == 0 {
		e, err := trail.Append(audit.Entry{Principal: string(t.Actor), Role: "operator", Operation: PurgeOperation,
			Identities: []string{t.Identity.String()}, Purpose: "retention: " + t.Rule, Result: "ok", Client: "cli", Credential: cred})
		if err != nil {
			return fmt.Errorf("retention: audit of identity %s (purged, the audit entry is written when the purge is run again): %w", t.Identity, err)
		}
		seq = e.Seq
	}
	t.Audit = seq
	return store.Update(db, func(txn *store.Txn) error { return mpi.SetTombstoneIn(txn, t) })
}

func add(a *mpi.PurgeCounts, b mpi.PurgeCounts) {
	a.Records += b.Records
	a.Versions += b.Versions
	a.Retired += b.Retired
	a.EventsRemoved += b.EventsRemoved
	a.EventsRedacted += b.EventsRedacted
	a.Reviews += b.Reviews
	a.Distinct += b.Distinct
	a.Exams += b.Exams
	a.Alerts += b.Alerts
}
