package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"vigie/hl7"
	"vigie/rpc"
)

// startMLLP starts the HL7 v2 identity feed of `vigie serve` on
// c.MLLPAddr and returns the function that stops it: it stops accepting,
// lets the messages being applied be acknowledged, and waits at most
// c.ShutdownTimeout.
func startMLLP(c serveConfig, feed *hl7.Feed, log *slog.Logger) (stop func(), err error) {
	cert, key := "", ""
	if c.MLLPTLS {
		cert, key = c.TLSCert, c.TLSKey
	}
	srv, addr, err := hl7.Start(c.MLLPAddr, cert, key, feed, log)
	if err != nil {
		return nil, fmt.Errorf("serve: --mllp-addr: %w", err)
	}
	log.Info("HL7 v2 feed listening (MLLP)", "addr", addr, "tls", c.MLLPTLS)
	fmt.Fprintf(c.Stdout, "vigie: HL7 v2 (MLLP) on %s\n", addr)
	if c.MLLPReady != nil {
		c.MLLPReady(addr)
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), c.ShutdownTimeout)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			log.Warn("HL7 v2 feed: messages still being applied at the shutdown deadline were cut", "error", err.Error())
		}
	}, nil
}

// startOutbox runs the HL7 v2 outbox (package hl7) until the returned stop
// is called: it follows the patient index's events and notifies the
// subscribers registered with `vigie hl7 subscriber add`; with none it
// only reads the subscriber list every second. Its queue is on the
// metrics.
func startOutbox(c serveConfig, ob *hl7.Outbox, metrics *rpc.Metrics, log *slog.Logger) (stop func()) {
	if c.OutboxPoll > 0 {
		ob.Poll = c.OutboxPoll
	}
	if c.OutboxMaxBackoff > 0 {
		ob.MaxBackoff = c.OutboxMaxBackoff
	}
	switch {
	case c.DoseSettle > 0:
		ob.Settle = c.DoseSettle
	case c.DoseSettle < 0:
		ob.Settle = 0
	}
	metrics.Gauge("hl7_dose_reports_pending", "HL7 v2 dose reports (ORU^R01) not yet acknowledged by their subscriber, and exams whose report is still to queue (vigie hl7 outbox lists them).", func(ctx context.Context) (float64, error) {
		l, err := ob.DoseLag(ctx)
		return float64(l.Pending + l.ToQueue), err
	})
	metrics.Gauge("hl7_outbox_pending", "HL7 v2 notifications not yet acknowledged by their subscriber (vigie hl7 outbox lists them).", func(ctx context.Context) (float64, error) {
		_, n, _, err := ob.Lag(ctx)
		return float64(n), err
	})
	if subs, err := ob.Subscribers(context.Background()); err == nil && len(subs) > 0 {
		log.Info("HL7 v2 outbox: notifying subscribers", "subscribers", len(subs))
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { ob.Run(ctx); close(done) }()
	return func() { cancel(); <-done }
}

// outboxHealth is /healthz's line on the HL7 v2 outbox: how many
// notifications wait and how long the oldest has (Outbox.Lag, which reads
// keys, not every message: probes come every few seconds, and a bulk load
// can queue a notification per new identity; `vigie hl7 outbox` tells
// which fail and why). No line when there is no subscriber. It holds
// counts and ages only.
func outboxHealth(ob *hl7.Outbox, log *slog.Logger) func(context.Context) string {
	return func(ctx context.Context) string {
		subs, pending, oldest, err := ob.Lag(ctx)
		switch {
		case err != nil:
			log.ErrorContext(ctx, "healthz: the HL7 outbox could not be read", "error", err.Error())
			return "outbox: unreadable (see the log)"
		case subs == 0:
			return ""
		case pending == 0:
			return fmt.Sprintf("outbox: %d subscribers, nothing pending", subs)
		}
		return fmt.Sprintf("outbox: %d subscribers, %d pending, the oldest %s old", subs, pending, time.Since(oldest).Round(time.Second))
	}
}

// doseReportsHealth is /healthz's line on the dose reports sent back
// (Outbox.DoseLag): how many wait for their acknowledgement, the oldest's
// age, how many exams still wait to be queued, and the backfills under
// way. No line when no
// subscriber takes dose reports and nothing waits. Counts and ages only.
func doseReportsHealth(ob *hl7.Outbox, log *slog.Logger) func(context.Context) string {
	return func(ctx context.Context) string {
		l, err := ob.DoseLag(ctx)
		backfill := ""
		if l.Backfilling > 0 {
			backfill = fmt.Sprintf(", %d backfills under way", l.Backfilling)
		}
		switch {
		case err != nil:
			log.ErrorContext(ctx, "healthz: the dose reports could not be read", "error", err.Error())
			return "dose reports: unreadable (see the log)"
		case l.Subscribers == 0 && l.Pending == 0:
			return ""
		case l.Pending == 0 && l.ToQueue == 0:
			return fmt.Sprintf("dose reports: %d subscribers, nothing pending%s", l.Subscribers, backfill)
		case l.Pending == 0:
			return fmt.Sprintf("dose reports: %d subscribers, nothing pending, %d exams to queue%s", l.Subscribers, l.ToQueue, backfill)
		}
		return fmt.Sprintf("dose reports: %d subscribers, %d pending, the oldest %s old, %d exams to queue%s",
			l.Subscribers, l.Pending, time.Since(l.Oldest).Round(time.Second), l.ToQueue, backfill)
	}
}
