package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"time"

	"vigie"
	"vigie/audit"
	"vigie/dimse"
	"vigie/rpc"
	"vigie/sites"
)

// dicomConfig is the DICOM listener of `vigie serve` (see dimse and
// rpc.DIMSE): modalities and PACS send dose reports by C-STORE.
type dicomConfig struct {
	// Addr is where it listens ("": no listener).
	Addr string
	// AETitle is the called AE title it answers to.
	AETitle string
	// TLS serves DICOM over TLS (PS3.15 Annex B) with the API's
	// certificate (--tls-cert, --tls-key).
	TLS bool
	// TempDir holds instances while they are received ("": the
	// system's temporary folder).
	TempDir string
	// Ready, when set, is called with the listener's address.
	Ready func(addr string)
}

// dicomFlags adds the DICOM listener's flags to fs.
func dicomFlags(fs *flag.FlagSet, c *dicomConfig) {
	fs.StringVar(&c.Addr, "dicom-addr", "", "address of the DICOM listener (C-ECHO, C-STORE of dose reports), e.g. :11112; empty: none")
	fs.StringVar(&c.AETitle, "ae-title", "VIGIE", "AE title of the DICOM listener (the called AE the senders are configured with)")
	fs.StringVar(&c.TempDir, "dicom-tmp", "", "folder holding each instance while it is received (default: the system's temporary folder; on a disk, not in memory, for large multi-frame images)")
	fs.BoolVar(&c.TLS, "dicom-tls", false, "serve the DICOM listener over TLS with --tls-cert and --tls-key")
}

// startDICOM starts the DICOM listener when c.Addr is set; stop ends it,
// waiting for the associations in progress until ctx ends. Each C-STORE
// is audited in trail, which makes it durable before it is answered.
func startDICOM(c dicomConfig, tlsCert, tlsKey string, ing *rpc.Ingester, reg *sites.Registry, trail *audit.Log, log *slog.Logger) (stop func(ctx context.Context), err error) {
	if c.Addr == "" {
		return func(context.Context) {}, nil
	}
	if len(c.AETitle) == 0 || len(c.AETitle) > 16 {
		return nil, usageErr("--ae-title %q: an AE title has 1 to 16 characters", c.AETitle)
	}
	d := &rpc.DIMSE{Ingester: ing, Sites: reg, Trail: trail, Log: log}
	srv := &dimse.Server{AETitle: c.AETitle, Admit: d.Admit, Accepts: d.Accepts, Store: d.Store, TempDir: c.TempDir,
		MaxInstance: vigie.MaxDICOMInstanceBytes, Log: log}
	if c.TLS {
		if tlsCert == "" {
			return nil, usageErr("--dicom-tls needs --tls-cert and --tls-key")
		}
		cert, err := tls.LoadX509KeyPair(tlsCert, tlsKey)
		if err != nil {
			return nil, fmt.Errorf("serve: --dicom-tls: %w", err)
		}
		srv.TLS = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	}
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return nil, fmt.Errorf("serve: --dicom-addr: %w", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && err != dimse.ErrServerClosed {
			log.Error("dicom listener stopped", "error", err.Error())
		}
	}()
	log.Info("dicom listener", "addr", ln.Addr().String(), "ae_title", c.AETitle, "tls", c.TLS)
	if c.Ready != nil {
		c.Ready(ln.Addr().String())
	}
	return func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			log.Warn("dicom associations still open at the shutdown deadline were cut", "error", err.Error())
		}
		<-done
	}, nil
}
