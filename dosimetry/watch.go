package dosimetry

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"

	"vigie"
	"vigie/ledger"
)

// AlertSharedStudy is the identity-vigilance alert: exams of two or more
// source records under one Study Instance UID (a study split across
// systems, or a mis-keyed patient). Each record keeps its own exams.
const AlertSharedStudy = "identity_shared_study"

// SharedStudyAlert returns the identity-vigilance alert of a study whose
// exams belong to several source records (recs, two or more), raised on
// the exam x that arrived. Its ID names the study and the records, so the
// same situation raises it once whatever exam is evaluated.
func SharedStudyAlert(x *ledger.Exam, recs []vigie.SourceKey) Alert {
	names := make([]string, len(recs))
	sites := map[string]bool{}
	for i, k := range recs {
		names[i] = k.String()
		sites[k.Authority] = true
	}
	sort.Strings(names)
	where := "du même établissement"
	if len(sites) > 1 {
		where = "de plusieurs établissements"
	}
	return Alert{ID: alertID(AlertSharedStudy, x.StudyUID, strings.Join(names, "\x00"), ""), Kind: AlertSharedStudy,
		Site: x.Key.Authority, Key: x.Key, SOP: x.SOPInstanceUID, StudyUID: x.StudyUID, Date: x.Date,
		Indicator: "records", Value: float64(len(recs)), Threshold: 1, Unit: "dossiers",
		Message: fmt.Sprintf("identitovigilance : un même examen (même identifiant d'étude) est rattaché à %d dossiers patients %s ; "+
			"chaque dose reste à son dossier, vérifier l'identité", len(recs), where)}
}

// AlertWatch applies the alert rules to exams as the ledger stores them
// (ledger.OnStored): the per-exam rules on the exam's study of its source
// record, the per-patient rules on the patient's whole history, and the
// identity-vigilance rule on its study. Work is queued by source record
// and study, coalesced, and done by one goroutine (Run); alerts are
// stored at once, idempotently (an exam evaluated twice raises nothing
// new).
type AlertWatch struct {
	// Scanner is a fresh scanner per evaluation (tables, configuration,
	// identities, a demographics lookup of its own).
	Scanner func(ctx context.Context) *Scanner
	Ledger  *ledger.Ledger
	Store   *AlertStore
	Log     *slog.Logger // may be nil
	// Raised, when set, is called after each evaluation with the alerts
	// it stored (tests and benchmarks watch it; the server counts them).
	Raised func(key vigie.SourceKey, study string, stored int)

	mu      sync.Mutex
	pending map[watchItem]bool
	queue   []watchItem
	wake    chan struct{}
	idle    *sync.Cond
	busy    bool
	resumed bool // Run has queued the studies left from a previous run
}

type watchItem struct {
	key   vigie.SourceKey
	study string
}

func (w *AlertWatch) init() {
	if w.pending == nil {
		w.pending = map[watchItem]bool{}
		w.wake = make(chan struct{}, 1)
		w.idle = sync.NewCond(&w.mu)
	}
}

// Stored is the ledger.OnStored hook: it queues the exam's record and
// study and returns at once.
func (w *AlertWatch) Stored(_ ledger.Outcome, x *ledger.Exam) {
	w.enqueue(watchItem{x.Key, ledger.StudyOf(x)})
}

func (w *AlertWatch) enqueue(it watchItem) {
	w.mu.Lock()
	w.init()
	if !w.pending[it] {
		w.pending[it] = true
		w.queue = append(w.queue, it)
	}
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run evaluates queued exams until ctx ends. A failed evaluation is
// logged once with its record's site and the error, never a name.
func (w *AlertWatch) Run(ctx context.Context) {
	w.mu.Lock()
	w.init()
	w.mu.Unlock()
	w.resume(ctx)
	w.mu.Lock()
	w.resumed = true
	w.idle.Broadcast()
	w.mu.Unlock()
	for {
		w.mu.Lock()
		if len(w.queue) == 0 {
			w.busy = false
			w.idle.Broadcast()
			w.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-w.wake:
			}
			continue
		}
		it := w.queue[0]
		w.queue = w.queue[1:]
		delete(w.pending, it)
		w.busy = true
		w.mu.Unlock()
		n, err := w.evaluateMarked(ctx, it)
		if err != nil && ctx.Err() == nil && w.Log != nil {
			w.Log.ErrorContext(ctx, "dose alerts: an exam could not be evaluated; `vigie alerts scan` will catch it up",
				"site", it.key.Authority, "error", err.Error())
		}
		if w.Raised != nil {
			w.Raised(it.key, it.study, n)
		}
	}
}

// Wait returns once Run has queued the studies left from a previous run,
// the queue is empty and no evaluation runs (Run must be running): `vigie
// ingest` waits before it exits.
func (w *AlertWatch) Wait() {
	w.mu.Lock()
	w.init()
	for !w.resumed || len(w.queue) > 0 || w.busy {
		w.idle.Wait()
	}
	w.mu.Unlock()
}

// Evaluate applies the rules to one study of one source record and stores
// the alerts not stored yet; it returns how many it stored.
func (w *AlertWatch) Evaluate(ctx context.Context, key vigie.SourceKey, study string) (int, error) {
	es, err := w.Ledger.Exams(ctx, []vigie.SourceKey{key})
	if err != nil {
		return 0, fmt.Errorf("dosimetry: watch: %w", err)
	}
	var sel Entries
	for i := range es {
		if ledger.StudyOf(&es[i].Exam) == study {
			sel = append(sel, es[i])
		}
	}
	if len(sel) == 0 {
		return 0, nil
	}
	s := w.Scanner(ctx)
	if s.Studies == nil {
		s.Studies = w.Ledger
	}
	alerts, err := s.Check(ctx, sel, ScanQuery{}, nil)
	if err != nil {
		return 0, fmt.Errorf("dosimetry: watch: %w", err)
	}
	n, err := w.Store.RaiseAll(ctx, alerts)
	if err != nil {
		return n, fmt.Errorf("dosimetry: watch: %w", err)
	}
	return n, nil
}

// AlertConflict is raised on a report whose SOP instance was stored first
// under another patient or study (ledger.Entry.Conflict).
const AlertConflict = "identity_sop_conflict"

// ConflictAlert returns the alert of a stored conflict.
func ConflictAlert(e *ledger.Entry) Alert {
	x := &e.Exam
	what := map[string]string{"patient": "un autre patient", "study": "un autre examen", "patient, study": "un autre patient et un autre examen"}[e.Conflict]
	if what == "" {
		what = "un autre patient ou examen"
	}
	return Alert{ID: alertID(AlertConflict, x.Key.String(), e.RowID(), ""), Kind: AlertConflict, Site: x.Key.Authority,
		Key: x.Key, SOP: x.SOPInstanceUID, StudyUID: x.StudyUID, Date: x.Date, Indicator: "conflict", Unit: "",
		Message: "identitovigilance : ce rapport de dose avait déjà été reçu pour " + what +
			" ; le premier est conservé, celui-ci est gardé pour trace sans être compté"}
}

// resume queues the studies whose exams were committed and never
// evaluated (the ledger's markers, see ledger.Pending): exams acknowledged
// just before the previous process stopped, or stored by a command that
// does not evaluate.
func (w *AlertWatch) resume(ctx context.Context) {
	ps, err := w.Ledger.Pending(ctx)
	if err != nil {
		if ctx.Err() == nil && w.Log != nil {
			w.Log.ErrorContext(ctx, "dose alerts: the exams left to evaluate could not be read; `vigie alerts scan` will catch them up", "error", err.Error())
		}
		return
	}
	for _, p := range ps {
		w.enqueue(watchItem{p.Key, p.Study})
	}
	if len(ps) > 0 && w.Log != nil {
		w.Log.InfoContext(ctx, "dose alerts: evaluating the studies left from the previous run", "studies", len(ps))
	}
}

// evaluateMarked evaluates one queued study and, once its alerts are
// stored, clears the ledger's marker as it was read before the evaluation
// (a newer exam's marker stays).
func (w *AlertWatch) evaluateMarked(ctx context.Context, it watchItem) (int, error) {
	p, marked, err := w.Ledger.PendingOf(ctx, it.key, it.study)
	if err != nil {
		return 0, fmt.Errorf("dosimetry: watch: %w", err)
	}
	n, err := w.Evaluate(ctx, it.key, it.study)
	if err != nil || !marked {
		return n, err
	}
	if err := w.Ledger.Evaluated(ctx, p); err != nil {
		return n, fmt.Errorf("dosimetry: watch: %w", err)
	}
	return n, nil
}
