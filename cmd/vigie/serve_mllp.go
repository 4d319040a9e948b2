package main

import (
	"context"
	"fmt"
	"log/slog"

	"vigie/hl7"
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
