package integration

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// proc is a program running in a namespace; its stdout lines arrive on
// lines.
type proc struct {
	name   string
	cmd    *exec.Cmd
	lines  chan string
	mu     sync.Mutex
	stderr bytes.Buffer
	done   chan struct{}
}

// startIn starts argv inside ns; the process is killed when t ends.
func startIn(t *testing.T, ns netns, env []string, argv ...string) *proc {
	t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", string(ns)}, argv...)...)
	cmd.Env = append(os.Environ(), env...)
	p := &proc{name: strings.Join(argv, " "), cmd: cmd, lines: make(chan string, 4096), done: make(chan struct{})}
	cmd.Stderr = &lockedWriter{p: p}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", p.name, err)
	}
	go func() {
		s := bufio.NewScanner(out)
		for s.Scan() {
			p.lines <- s.Text()
		}
		cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(p.kill)
	return p
}

type lockedWriter struct{ p *proc }

func (w *lockedWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	return w.p.stderr.Write(b)
}

// Stderr returns what the process wrote to stderr so far.
func (p *proc) Stderr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// kill ends the process (no-op once it ended) and waits for it.
func (p *proc) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Kill()
	<-p.done
}

// next returns the next stdout line, or false after timeout or at the end.
func (p *proc) next(timeout time.Duration) (string, bool) {
	select {
	case l, ok := <-p.lines:
		return l, ok
	case <-time.After(timeout):
		return "", false
	}
}

// quiet reads lines until none comes for gap and reports whether that
// happened within limit; last is the last line read. A stream that was
// cut stops within a gap of what was in flight, however late a loaded
// machine delivers that; a live one (a heartbeat every 50 ms) never
// pauses for a whole gap. No fixed settling sleep decides either way.
func (p *proc) quiet(gap, limit time.Duration) (last string, ok bool) {
	end := time.After(limit)
	for {
		select {
		case l, open := <-p.lines:
			if !open {
				return last, true
			}
			last = l
		case <-time.After(gap):
			return last, true
		case <-end:
			return last, false
		}
	}
}

// drain discards the lines that arrived so far and returns how many.
func (p *proc) drain() int {
	n := 0
	for {
		select {
		case <-p.lines:
			n++
		default:
			return n
		}
	}
}

// startRole starts this test binary as role in ns and waits for its
// "ready" line.
func startRole(t *testing.T, ns netns, role string, args ...string) *proc {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := startIn(t, ns, []string{roleEnv + "=" + role}, append([]string{exe}, args...)...)
	if l, ok := p.next(10 * time.Second); !ok || l != "ready" {
		t.Fatalf("role %s %v in %s: no ready line (got %q)\nstderr: %s", role, args, ns, l, p.Stderr())
	}
	return p
}

// roleResult runs role to completion in ns and returns the result it
// printed last.
func roleResult(t *testing.T, ns netns, role string, args ...string) result {
	t.Helper()
	r, err := roleRun(ns, role, args...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// roleRun is roleResult for use outside the test's goroutine.
func roleRun(ns netns, role string, args ...string) (result, error) {
	exe, err := os.Executable()
	if err != nil {
		return result{}, err
	}
	cmd := exec.Command("ip", append([]string{"netns", "exec", string(ns), exe}, args...)...)
	cmd.Env = append(os.Environ(), roleEnv+"="+role)
	out, err := stdout(cmd)
	if err != nil {
		return result{}, fmt.Errorf("role %s %v in %s: %v", role, args, ns, err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var r result
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &r); err != nil {
		return result{}, fmt.Errorf("role %s %v in %s: output %q: %v", role, args, ns, out, err)
	}
	return r, nil
}

// parseResult decodes one line a role printed.
func parseResult(line string) (result, bool) {
	var r result
	err := json.Unmarshal([]byte(line), &r)
	return r, err == nil
}
