package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ServedMemory is a server's resident memory once it is ready.
type ServedMemory struct {
	Ready     time.Duration // from its start to ready and warmed
	RSS, Peak int64         // resident memory then, and its peak so far (bytes)
	// Anon and File split RSS as the kernel counts it: the process's own
	// memory, and pages of mapped files (Badger's tables: page cache the
	// kernel may reclaim).
	Anon, File int64
}

// serveMemory starts `vigie serve` on the store in data with its default
// flags, waits until /readyz answers 200 (the search index caught up) and
// the server logged its cache of normalised forms warmed, reads its memory
// from /proc, and stops it.
func serveMemory(ctx context.Context, c GrowthConfig, data string, stderr io.Writer) (ServedMemory, error) {
	var m ServedMemory
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return m, err
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := c.Command(ctx, "serve", "--data", data, "--addr", addr)
	logs, err := cmd.StderrPipe()
	if err != nil {
		return m, err
	}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return m, err
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	warmed := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(logs)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		closed := false
		for sc.Scan() {
			line := sc.Text()
			if !closed && strings.Contains(line, "cache of normalised forms warmed") {
				close(warmed)
				closed = true
			}
			if strings.Contains(line, `"level":"ERROR"`) || strings.Contains(line, `"level":"WARN"`) {
				fmt.Fprintln(stderr, line)
			}
		}
		_, _ = io.Copy(io.Discard, logs)
	}()
	timeout := c.ServeTimeout
	if timeout <= 0 {
		timeout = time.Hour
	}
	deadline := time.Now().Add(timeout)
	hc := &http.Client{Timeout: 5 * time.Second}
	for ready := false; !ready; {
		if time.Now().After(deadline) {
			return m, fmt.Errorf("vigie serve not ready after %s", timeout)
		}
		if cmd.ProcessState != nil {
			return m, fmt.Errorf("vigie serve stopped before it was ready")
		}
		if resp, err := hc.Get("http://" + addr + "/readyz"); err == nil {
			ready = resp.StatusCode == http.StatusOK
			resp.Body.Close()
		}
		if !ready {
			time.Sleep(time.Second)
		}
	}
	select {
	case <-warmed:
	case <-time.After(time.Until(deadline)):
		return m, fmt.Errorf("vigie serve did not warm its cache within %s", timeout)
	}
	m.Ready = time.Since(t0)
	status, err := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/status")
	if err != nil {
		return m, err
	}
	for line := range strings.Lines(string(status)) {
		name, v, _ := strings.Cut(line, ":")
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			continue
		}
		switch name {
		case "VmRSS":
			m.RSS = kb << 10
		case "VmHWM":
			m.Peak = kb << 10
		case "RssAnon":
			m.Anon = kb << 10
		case "RssFile":
			m.File = kb << 10
		}
	}
	return m, nil
}
