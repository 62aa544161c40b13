package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// DefaultSocket is where the daemon listens unless configured otherwise,
// and where `hare ct` and `hare nft` connect (HARE_SOCKET, --socket).
const DefaultSocket = "/run/hare/control.sock"

// Config says where and for whom the server listens.
type Config struct {
	// Path is the socket's path; "" means DefaultSocket. Its directory
	// is created (mode 0755) if missing.
	Path string
	// Group, a group name or number, may use the socket besides root:
	// the socket is chowned to it with mode 0660. "" means mode 0600
	// and root only.
	Group string
	// Mode, if not 0, is the socket's mode instead (the daemon's
	// [control] mode). The peer check does not depend on it.
	Mode os.FileMode
	// Log receives one line per refused connection and per change of
	// the ruleset; nil: slog.Default().
	Log *slog.Logger
}

// Server serves the control API (see the package doc) on a unix socket.
// Create it with Listen, run Serve, stop it with Close.
type Server struct {
	b    Backend
	path string
	gid  int // the configured group, -1 for none
	ln   net.Listener
	srv  *http.Server
	log  *slog.Logger
	done chan struct{} // closed by Close: streams end

	closeOnce sync.Once
	mu        sync.Mutex // serialises ruleset changes made through the API
}

// Listen creates the socket at cfg.Path with its permissions and returns
// the server that will answer on it. A stale socket (nobody listening) is
// replaced; a socket in use is an error.
func Listen(cfg Config, b Backend) (*Server, error) {
	s := &Server{b: b, path: cfg.Path, gid: -1, log: cfg.Log, done: make(chan struct{})}
	if s.path == "" {
		s.path = DefaultSocket
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if cfg.Group != "" {
		gid, err := lookupGroup(cfg.Group)
		if err != nil {
			return nil, err
		}
		s.gid = gid
	}
	if err := os.MkdirAll(filepath.Dir(s.path), 0o755); err != nil {
		return nil, err
	}
	if c, err := net.DialTimeout("unix", s.path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("control socket %s is in use by another process", s.path)
	}
	if err := os.Remove(s.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	ln, err := net.Listen("unix", s.path)
	if err != nil {
		return nil, err
	}
	// Between the bind and the chmod the socket has the umask's mode;
	// the peer check below still refuses whoever connects meanwhile.
	mode := os.FileMode(0o600)
	if s.gid >= 0 {
		mode = 0o660
	}
	if cfg.Mode != 0 {
		mode = cfg.Mode.Perm()
	}
	if s.gid >= 0 {
		if err := os.Chown(s.path, -1, s.gid); err != nil {
			ln.Close()
			return nil, err
		}
	}
	if err := os.Chmod(s.path, mode); err != nil {
		ln.Close()
		return nil, err
	}
	s.ln = ln
	s.srv = &http.Server{
		Handler:           s.authorize(s.routes()),
		ConnContext:       connContext,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	return s, nil
}

// Path returns the socket's path.
func (s *Server) Path() string { return s.path }

// Serve answers requests until Close; it returns nil after Close.
func (s *Server) Serve() error {
	err := s.srv.Serve(s.ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Close stops the server: streams (events, trace) end, requests in flight
// get up to a second to finish, and the socket is removed.
func (s *Server) Close() error {
	s.closeOnce.Do(func() { close(s.done) })
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = s.srv.Close()
	}
	os.Remove(s.path)
	return err
}

// Handler returns the API's handler without the socket and peer checks,
// for embedding it elsewhere.
func (s *Server) Handler() http.Handler { return s.routes() }

func (s *Server) routes() http.Handler {
	m := http.NewServeMux()
	m.HandleFunc("GET /v1/conntrack", only(tableParams, s.ctList))
	m.HandleFunc("DELETE /v1/conntrack", only(tableParams, s.ctDelete))
	m.HandleFunc("GET /v1/conntrack/entry", only(join(tableParams, []string{"dir"}), s.ctGet))
	m.HandleFunc("POST /v1/conntrack/flush", only(nil, s.ctFlush))
	m.HandleFunc("GET /v1/conntrack/stats", only(nil, s.ctStats))
	m.HandleFunc("GET /v1/conntrack/events", only(join(tableParams, []string{"events", "queue"}), s.ctEvents))
	m.HandleFunc("GET /v1/conntrack/proc", only(nil, s.ctProc))
	m.HandleFunc("GET /v1/conntrack/proc-stat", only(nil, s.ctProcStat))
	m.HandleFunc("GET /v1/ruleset", only([]string{"family", "table", "chain", "set", "handles", "stateless", "format"}, s.rulesList))
	m.HandleFunc("POST /v1/ruleset", only([]string{"name", "check"}, s.rulesApply))
	m.HandleFunc("GET /v1/counters", only(nil, s.rulesCounters))
	m.HandleFunc("GET /v1/trace", only(nil, s.trace))
	m.HandleFunc("POST /v1/reload", only(nil, s.reload))
	m.HandleFunc("GET /v1/stats", only(nil, s.stats))
	return m
}

// authorize refuses a peer that is neither root, nor the server's own
// user, nor a member of the configured group (SO_PEERCRED): the socket's
// mode keeps others out already; this holds even if the mode is changed.
func (s *Server) authorize(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cr, ok := r.Context().Value(peerKey{}).(peer)
		if !ok || !s.allowed(cr) {
			s.log.Warn("control: refused peer", "uid", cr.uid, "gid", cr.gid, "pid", cr.pid, "path", r.URL.Path)
			httpError(w, http.StatusForbidden, "permission denied: only root or the control group may use this socket")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) allowed(p peer) bool {
	if !p.ok {
		return false
	}
	if p.uid == 0 || int(p.uid) == os.Geteuid() {
		return true
	}
	return s.gid >= 0 && p.inGroup(s.gid)
}

func lookupGroup(g string) (int, error) {
	if n, err := strconv.Atoi(g); err == nil {
		return n, nil
	}
	gr, err := user.LookupGroup(g)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(gr.Gid)
}

// errorBody is every error's JSON: {"error": "..."}. A ruleset error's
// message is nft's, with its file:line:col and the source line.
type errorBody struct {
	Error string    `json:"error"`
	Pos   *ErrorPos `json:"pos,omitempty"`
}

// ErrorPos is where in the nft source a ruleset error is, for printing it
// as nft does: the message alone, the file, line and column (1-based),
// the source line and how many bytes to underline.
type ErrorPos struct {
	Msg  string `json:"msg"`
	File string `json:"file"`
	Line int    `json:"line"`
	Col  int    `json:"col"`
	Len  int    `json:"len,omitempty"`
	Src  string `json:"src,omitempty"`
}

func httpError(w http.ResponseWriter, code int, msg string) {
	httpErrorPos(w, code, msg, nil)
}

func httpErrorPos(w http.ResponseWriter, code int, msg string, pos *ErrorPos) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(errorBody{msg, pos})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func notImplemented(w http.ResponseWriter, what string) {
	httpError(w, http.StatusNotImplemented, what+" is not available in this daemon")
}

func (s *Server) reload(w http.ResponseWriter, r *http.Request) {
	if s.b.Reload == nil {
		notImplemented(w, "reload")
		return
	}
	if err := s.b.Reload(); err != nil {
		httpError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, struct{}{})
}

func (s *Server) stats(w http.ResponseWriter, r *http.Request) {
	if s.b.Stats == nil {
		notImplemented(w, "daemon statistics")
		return
	}
	writeJSON(w, s.b.Stats())
}
