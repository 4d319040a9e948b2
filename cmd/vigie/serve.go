package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	badger "github.com/dgraph-io/badger/v4"

	"vigie"
	"vigie/matcher"
)

func init() {
	register(verb{name: "serve", summary: "run the Vigie service (Badger store in --data)", run: runServe})
}

func runServe(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", stderr)
	data := fs.String("data", "./vigie-data", "folder of the Badger store (created if missing)")
	addr := fs.String("addr", ":8080", "address to listen on")
	demo := fs.Bool("demo", false, "load a generated demonstration population into an empty store (never on a real deployment)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	opts := badger.DefaultOptions(*data).
		WithSyncWrites(true). // an acknowledged write survives a crash
		WithNumMemtables(2).
		WithBlockCacheSize(64 << 20).
		WithIndexCacheSize(32 << 20).
		WithLogger(nil)
	db, err := badger.Open(opts)
	if err != nil {
		return fmt.Errorf("serve: open store %s: %w", *data, err)
	}
	defer db.Close()
	if *demo {
		log.Info("demo requested: the demonstration population is loaded by the patient index, which this build does not have yet")
	}

	model := matcher.DefaultModel()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("POST /v0/match/explain", func(w http.ResponseWriter, r *http.Request) {
		explainPair(w, r, model)
	})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()
	log.Info("vigie listening", "addr", ln.Addr().String(), "data", *data)
	fmt.Fprintf(stdout, "vigie: listening on %s (store %s)\n", ln.Addr(), *data)
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("vigie stopped")
	return nil
}

// explainPair scores two records sent as {"a": {...}, "b": {...}} and
// answers the score with its explanation. It stores nothing.
func explainPair(w http.ResponseWriter, r *http.Request, model *matcher.Model) {
	var req struct{ A, B matcher.Record }
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	if err := dec.Decode(&req); err != nil {
		httpError(w, vigie.Invalid("body", "expected {\"a\": record, \"b\": record}: %v", err))
		return
	}
	a, err := matcher.Prepare(&req.A)
	if err != nil {
		httpError(w, fmt.Errorf("a: %w", err))
		return
	}
	b, err := matcher.Prepare(&req.B)
	if err != nil {
		httpError(w, fmt.Errorf("b: %w", err))
		return
	}
	c := matcher.Compare(a, b)
	s := model.Score(&c, nil)
	type field struct {
		Field, Level string
		Weight       float64
	}
	out := struct {
		Probability float64  `json:"probability"`
		Weight      float64  `json:"weight"`
		Grade       string   `json:"grade"`
		AutoLink    bool     `json:"auto_link"`
		Fields      []field  `json:"fields"`
		Rules       []string `json:"rules"`
		Table       string   `json:"table"`
	}{Probability: s.Probability, Weight: s.Weight, Grade: string(s.Grade), AutoLink: s.AutoLink, Table: s.Table()}
	for _, f := range s.Fields {
		out.Fields = append(out.Fields, field{f.Field.String(), f.Field.LevelName(f.Level), f.Weight})
	}
	for _, r := range s.Rules {
		out.Rules = append(out.Rules, r.Code)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

func httpError(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	switch vigie.ErrorCode(err) {
	case vigie.EINVALID:
		status = http.StatusBadRequest
	case vigie.ENOTFOUND:
		status = http.StatusNotFound
	case vigie.ECONFLICT:
		status = http.StatusConflict
	case vigie.EPERMISSION:
		status = http.StatusForbidden
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error(), "field": vigie.ErrorField(err)})
}
