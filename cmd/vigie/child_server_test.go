package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

// childServer is a `vigie serve` run in a child process of the test
// binary, so that a test can kill it (SIGKILL) as a crash would.
type childServer struct {
	cmd    *exec.Cmd
	stderr bytes.Buffer
}

// startChildServer runs the test function run (a TestServe…Child, which
// serves when env names the store's folder) as a child process, and
// returns it once it printed the line starting with prefix, with the rest
// of that line (the address it listens on).
func startChildServer(t *testing.T, run, env, data, prefix string) (*childServer, string) {
	t.Helper()
	c := &childServer{cmd: exec.Command(os.Args[0], "-test.run=^"+run+"$", "-test.count=1")}
	c.cmd.Env = append(os.Environ(), env+"="+data)
	c.cmd.Stderr = &c.stderr
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	addr := ""
	for sc.Scan() {
		if a, ok := strings.CutPrefix(sc.Text(), prefix); ok {
			addr = a
			break
		}
	}
	if addr == "" {
		_ = c.cmd.Process.Kill()
		_ = c.cmd.Wait()
		t.Fatalf("the child did not start: %s", c.stderr.String())
	}
	go func() {
		for sc.Scan() {
		}
	}()
	return c, addr
}

// stop ends the child: killed (SIGKILL) when kill, otherwise stopped by
// SIGTERM, which it must survive cleanly.
func (c *childServer) stop(t *testing.T, kill bool) {
	t.Helper()
	if kill {
		_ = c.cmd.Process.Kill()
		_ = c.cmd.Wait()
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	_ = c.cmd.Wait()
	if !c.cmd.ProcessState.Success() {
		t.Errorf("the child did not stop cleanly: %v\n%s", c.cmd.ProcessState, c.stderr.String())
	}
}
