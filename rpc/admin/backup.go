package admin

import (
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync/atomic"

	"vigie"
	"vigie/audit"
	"vigie/auth"
	"vigie/ledger"
	"vigie/mpi"
	"vigie/store"
)

// Summarize computes a backup's summary in txn (see store.Summary):
// source records, identities (live and retired) and exams, and the audit
// trail's head. The backup verbs and the online backup share it, and a
// restore checks the restored store against it.
func Summarize(txn *store.Txn) (store.Summary, error) {
	records, identities := mpi.CountIn(txn)
	seq, hash, err := audit.HeadIn(txn)
	if err != nil {
		return store.Summary{}, err
	}
	return store.Summary{
		Counts:   map[string]int64{"records": records, "identities": identities, "exams": ledger.CountIn(txn)},
		AuditSeq: seq, AuditHash: hex.EncodeToString(hash),
	}, nil
}

// BackupPath is the route of the online backup: GET, with an admin's
// bearer credential, ?since=VERSION for an incremental, and ?rate=BYTES
// (bytes per second, 0: unpaced) to override the server's pace. The answer is
// the backup file itself (store.Backup's format); a backup that fails
// midway is cut off, and the file the caller holds lacks its trailer,
// which a restore refuses.
const BackupPath = "/admin/backup"

// BackupOperation names the online backup in the audit trail.
const BackupOperation = "/vigie.v1.AdminService/Backup"

// Backup serves BackupPath while the server runs: one backup at a time,
// read from a snapshot with one goroutine (store.Backup), so that the
// calls keep being answered. It is a plain HTTP route rather than a
// Connect method: a backup is one long byte stream, and Connect's
// interceptors and the HTTP audit wrapper buffer whole messages. So it
// authenticates and audits itself: an admin credential is required, and
// the call is recorded in the trail before the first byte is sent (the
// entry is in the backup).
type Backup struct {
	DB            *store.DB
	Authenticator auth.Authenticator
	Trail         *audit.Log
	// Key encrypts the backups. Without one the route refuses to send
	// anything (412): the backup holds every patient's data, and an
	// administrator reads no patient data, so what leaves by this door is
	// only readable by whoever holds the key (the hosting team's, given
	// to vigie serve by --backup-key-file or as the store's own key).
	Key []byte
	// Rate is the pace of a backup in bytes per second (0: unpaced; see
	// store.DefaultBackupRate); a call's ?rate= overrides it.
	Rate int64
	Log  *slog.Logger
	// Done, when set, is told of every backup sent whole.
	Done func(store.Manifest)

	running atomic.Bool
}

func (b *Backup) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	log := b.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	reqID := auth.RequestID(auth.WithRequestID(r.Context()))
	w.Header().Set("X-Request-Id", reqID)
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, "GET only", http.StatusMethodNotAllowed)
		return
	}
	p, status, msg, err := auth.Bearer(r, b.Authenticator)
	if status != http.StatusOK {
		if err != nil {
			log.Error("backup: authentication failed", "request_id", reqID, "error", err.Error())
		}
		http.Error(w, msg, status)
		return
	}
	var since uint64
	pace := b.Rate
	result, status, msg := "ok", http.StatusOK, ""
	q := r.URL.Query()
	if p.Role != auth.RoleAdmin {
		result, status, msg = "permission_denied", http.StatusForbidden, "the backup needs the admin role"
	} else if s := q.Get("since"); s != "" {
		if since, err = strconv.ParseUint(s, 10, 64); err != nil {
			result, status, msg = "invalid_argument", http.StatusBadRequest, fmt.Sprintf("since: %q is not a version", s)
		}
	}
	if status == http.StatusOK && len(b.Key) == 0 {
		result, status, msg = "failed_precondition", http.StatusPreconditionFailed,
			"the online backup is sent encrypted only: start vigie serve with --backup-key-file FILE (or on an encrypted store); "+
				"for a backup in clear, stop the server and run vigie backup --data DIR on the host"
	}
	if rs := q.Get("rate"); status == http.StatusOK && rs != "" {
		if pace, err = strconv.ParseInt(rs, 10, 64); err != nil || pace < 0 {
			result, status, msg = "invalid_argument", http.StatusBadRequest, fmt.Sprintf("rate: %q is not a number of bytes per second", rs)
		}
	}
	if status == http.StatusOK && !b.running.CompareAndSwap(false, true) {
		result, status, msg = "aborted", http.StatusConflict, "a backup is already running"
	} else if status == http.StatusOK {
		defer b.running.Store(false)
	}
	credential := p.Method
	if p.CredentialID != "" {
		credential += ":" + p.CredentialID
	}
	if _, err := b.Trail.Append(audit.Entry{Principal: p.Name, Role: string(p.Role), Authorities: p.Authorities,
		Operation: BackupOperation, Result: result, Client: r.RemoteAddr, Credential: credential}); err != nil {
		log.Error("backup: audit trail unavailable", "request_id", reqID, "principal", p.Name, "error", err.Error())
		if vigie.ErrorCode(err) == vigie.EEXHAUSTED {
			http.Error(w, "audit trail unavailable: the store's disk is exhausted", http.StatusServiceUnavailable)
			return
		}
		http.Error(w, "audit trail unavailable", http.StatusInternalServerError)
		return
	}
	if status != http.StatusOK {
		http.Error(w, msg, status)
		return
	}
	log.Info("backup started", "request_id", reqID, "principal", p.Name, "since", since, "rate_bytes_per_s", pace)
	w.Header().Set("Content-Type", "application/octet-stream")
	cw := &countingWriter{w: w}
	m, err := store.Backup(r.Context(), b.DB, cw, store.BackupOptions{Since: since, Key: b.Key, Summarize: Summarize, Rate: pace})
	if err != nil {
		if vigie.ErrorCode(err) == vigie.EINVALID && cw.n == 0 {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		log.Error("backup failed; the answer is cut off", "request_id", reqID, "bytes", cw.n, "error", err.Error())
		// The caller must not take a clean end of stream for a backup.
		panic(http.ErrAbortHandler)
	}
	log.Info("backup sent", "request_id", reqID, "since", m.Since, "version", m.Version, "pairs", m.Pairs, "bytes", cw.n)
	if b.Done != nil {
		b.Done(m)
	}
}

type countingWriter struct {
	w http.ResponseWriter
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
