package control

import (
	"context"
	"io"
	"net/http"

	"github.com/hare-fw/hare/internal/ctfmt"
)

// The read-only procfs views, for tools that parse the kernel's files:
// GET /v1/conntrack/proc is /proc/net/nf_conntrack (ctfmt.WriteProc, the
// kernel's ct_seq_show) and GET /v1/conntrack/proc-stat is
// /proc/net/stat/nf_conntrack (ctfmt.WriteProcStat, ct_cpu_seq_show),
// as plain text.

func (s *Server) ctProc(w http.ResponseWriter, _ *http.Request) {
	if s.b.Table == nil {
		notImplemented(w, "the connection table")
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	// Written as the table is walked: an error here is the client gone.
	ctfmt.WriteProc(w, s.b.Table, s.b.Now())
}

func (s *Server) ctProcStat(w http.ResponseWriter, _ *http.Request) {
	if s.b.Table == nil {
		notImplemented(w, "the connection table")
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	ctfmt.WriteProcStat(w, s.b.Table)
}

// Proc copies the daemon's /proc/net/nf_conntrack view to w.
func (c *Client) Proc(ctx context.Context, w io.Writer) error {
	return c.copyTo(ctx, "/v1/conntrack/proc", w)
}

// ProcStat copies the daemon's /proc/net/stat/nf_conntrack view to w.
func (c *Client) ProcStat(ctx context.Context, w io.Writer) error {
	return c.copyTo(ctx, "/v1/conntrack/proc-stat", w)
}

func (c *Client) copyTo(ctx context.Context, path string, w io.Writer) error {
	resp, err := c.do(ctx, http.MethodGet, path, nil, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(w, resp.Body)
	return err
}
