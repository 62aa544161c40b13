package control

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestMain lets the test binary act as a client in a child process that
// runs as another user (see asUser).
func TestMain(m *testing.M) {
	if path := os.Getenv("HARE_CONTROL_TEST_CLIENT"); path != "" {
		_, err := NewClient(path).Stats(context.Background())
		var ce *Error
		switch {
		case err == nil:
			fmt.Println("ok")
		case errors.As(err, &ce):
			fmt.Println(ce.Status)
		case errors.Is(err, syscall.EACCES):
			fmt.Println("EACCES")
		default:
			fmt.Println(err)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// asUser runs this test binary as uid/gid (with the supplementary groups
// given) as a client of the socket at path, and returns what it saw: "ok",
// an HTTP status, or "EACCES".
func asUser(t *testing.T, dir, path string, uid, gid uint32, groups ...uint32) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "client.test")
	if _, err := os.Stat(bin); err != nil {
		src, err := os.Open(self)
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		dst, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY, 0o755)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(dst, src); err != nil {
			t.Fatal(err)
		}
		dst.Close()
	}
	cmd := exec.Command(bin)
	cmd.Env = []string{"HARE_CONTROL_TEST_CLIENT=" + path}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: gid, Groups: groups}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v: %s", err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestPeerCredentials: only root, the server's user and the configured
// group get in. The socket's mode keeps others out (EACCES); when the mode
// is opened up, the SO_PEERCRED check still refuses them (403).
func TestPeerCredentials(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a client as another user")
	}
	const nobody, group = 65534, 54321
	// More supplementary groups than peerGroups' first buffer holds: the
	// kernel's ERANGE and a second read.
	var many []uint32
	for g := uint32(60000); g < 60100; g++ {
		many = append(many, g)
	}
	many = append(many, group)
	for _, c := range []struct {
		name      string
		group     string
		mode      os.FileMode // 0: leave the server's
		uid, gid  uint32
		groups    []uint32
		want      string
		wantMode  os.FileMode
		wantGroup int
	}{
		{"root", "", 0, 0, 0, nil, "ok", 0o600, 0},
		{"nobody, mode 0600", "", 0, nobody, nobody, nil, "EACCES", 0o600, 0},
		{"nobody, mode 0666", "", 0o666, nobody, nobody, nil, "403", 0o600, 0},
		{"group member (primary)", "54321", 0, nobody, group, nil, "ok", 0o660, group},
		{"group member (supplementary)", "54321", 0o666, nobody, nobody, []uint32{group}, "ok", 0o660, group},
		{"group member (101st supplementary)", "54321", 0o666, nobody, nobody, many, "ok", 0o660, group},
		{"not in the group, mode 0666", "54321", 0o666, nobody, nobody, []uint32{12345}, "403", 0o660, group},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			for d := dir; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
				os.Chmod(d, 0o755) // let the child reach the socket
			}
			path := filepath.Join(dir, "control.sock")
			srv, err := Listen(Config{Path: path, Group: c.group, Log: slog.New(slog.DiscardHandler)}, Backend{})
			if err != nil {
				t.Fatal(err)
			}
			go srv.Serve()
			defer srv.Close()
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			st := fi.Sys().(*syscall.Stat_t)
			if fi.Mode().Perm() != c.wantMode || int(st.Gid) != c.wantGroup {
				t.Fatalf("socket mode %v group %d, want %v %d", fi.Mode().Perm(), st.Gid, c.wantMode, c.wantGroup)
			}
			if c.mode != 0 {
				os.Chmod(path, c.mode)
			}
			// The backend has no table: an allowed client gets 501,
			// which the child reports as "501"; map it to "ok".
			got := asUser(t, dir, path, c.uid, c.gid, c.groups...)
			if got == "501" {
				got = "ok"
			}
			if got != c.want {
				t.Errorf("got %s, want %s", got, c.want)
			}
		})
	}
}

// TestSocketInUse: a second server on a live socket is refused; a stale
// socket file is replaced.
func TestSocketInUse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "control.sock")
	a, err := Listen(Config{Path: path}, Backend{})
	if err != nil {
		t.Fatal(err)
	}
	go a.Serve()
	if _, err := Listen(Config{Path: path}, Backend{}); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second server: %v", err)
	}
	a.Close()
	os.WriteFile(path, nil, 0o600) // stale leftover
	b, err := Listen(Config{Path: path}, Backend{})
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
}
