package control

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/hare-fw/hare/conntrack"
	"github.com/hare-fw/hare/internal/ctfmt"
	"github.com/hare-fw/hare/packet"
)

// The connection table's endpoints. Entries are written as they are found,
// one per line: with format=text as conntrack prints them (ctfmt, with
// the -o options of the o parameter: extended, id, ktimestamp), else as
// NDJSON objects (ctfmt.Entry, the kernel oracle's keys).

// Stats is the answer of GET /v1/conntrack/stats: conntrack -S and -C.
type Stats struct {
	Entries int             `json:"entries"` // entries in the table (conntrack -C)
	Max     int64           `json:"max"`     // the table's limit (nf_conntrack_max)
	Stats   conntrack.Stats `json:"stats"`
}

// output is how a request wants its entries or events written.
type output struct {
	text bool
	opts ctfmt.Options
}

// parseOutput reads format= and o= and the table's acct and timestamp
// settings (without them conntrack prints no counters or delta-time).
func (s *Server) parseOutput(q url.Values) (output, error) {
	var out output
	switch q.Get("format") {
	case "", "json":
	case "text":
		out.text = true
	default:
		return out, fmt.Errorf("unknown format %q (text or json)", q.Get("format"))
	}
	if o := q.Get("o"); o != "" {
		for _, w := range strings.Split(o, ",") {
			switch w {
			case "extended":
				out.opts.Extended = true
			case "id":
				out.opts.ID = true
			case "ktimestamp":
				out.opts.KTimestamp = true
			case "timestamp":
				out.opts.Timestamp = true
			default:
				return out, ctErrorf("Bad parameter `%s'", w)
			}
		}
	}
	if st := s.b.Table.Settings(); st != nil {
		acct, _ := st.Get("acct")
		stamps, _ := st.Get("timestamp")
		out.opts.Acct, out.opts.Stamps = acct != 0, stamps != 0
	}
	return out, nil
}

// entryWriter writes entries one per line.
type entryWriter struct {
	w   *bufio.Writer
	out output
	now int64
	buf []byte
	n   int
}

func newEntryWriter(w http.ResponseWriter, out output, now int64) *entryWriter {
	if out.text {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	} else {
		w.Header().Set("Content-Type", "application/x-ndjson")
	}
	return &entryWriter{w: bufio.NewWriter(w), out: out, now: now}
}

func (ew *entryWriter) write(e *conntrack.Entry) {
	ew.n++
	if ew.out.text {
		ew.buf = ctfmt.AppendEntry(ew.buf[:0], e, ew.now, ew.out.opts)
		ew.buf = append(ew.buf, '\n')
		ew.w.Write(ew.buf)
		return
	}
	b, _ := json.Marshal(ctfmt.EntryJSON(e, ew.now, ew.out.opts))
	ew.w.Write(append(b, '\n'))
}

// tableRequest checks that the table is there and reads the filter and
// output options.
func (s *Server) tableRequest(w http.ResponseWriter, r *http.Request) (Filter, output, bool) {
	if s.b.Table == nil || s.b.Now == nil {
		notImplemented(w, "the connection table")
		return Filter{}, output{}, false
	}
	q := r.URL.Query()
	f, err := ParseFilter(q)
	if err == nil {
		var out output
		out, err = s.parseOutput(q)
		if err == nil {
			return f, out, true
		}
	}
	httpError(w, http.StatusBadRequest, err.Error())
	return Filter{}, output{}, false
}

// ctList is conntrack -L.
func (s *Server) ctList(w http.ResponseWriter, r *http.Request) {
	f, out, ok := s.tableRequest(w, r)
	if !ok {
		return
	}
	ew := newEntryWriter(w, out, s.b.Now())
	s.b.Table.Range(func(e *conntrack.Entry) bool {
		if f.Match(e) {
			ew.write(e)
		}
		return r.Context().Err() == nil
	})
	ew.w.Flush()
}

// ctDelete is conntrack -D: it destroys the matching entries (each sends
// its DESTROY event) and writes them as they were.
func (s *Server) ctDelete(w http.ResponseWriter, r *http.Request) {
	f, out, ok := s.tableRequest(w, r)
	if !ok {
		return
	}
	now := s.b.Now()
	var victims []conntrack.Entry
	s.b.Table.Range(func(e *conntrack.Entry) bool {
		if f.Match(e) {
			victims = append(victims, *e)
		}
		return true
	})
	ew := newEntryWriter(w, out, now)
	for i := range victims {
		if s.b.Table.Delete(victims[i].Orig, now) {
			ew.write(&victims[i])
		}
	}
	ew.w.Flush()
}

// ctGet is conntrack -G: the entry with the exact tuple the filter gives
// (proto, src, dst, and the ports or ICMP type, code and id), in either
// direction; with dir=orig only as its original tuple: an entry found by
// its reply tuple is then answered with no line, as conntrack 1.4.7 shows
// nothing for it ("0 flow entries have been shown.").
func (s *Server) ctGet(w http.ResponseWriter, r *http.Request) {
	f, out, ok := s.tableRequest(w, r)
	if !ok {
		return
	}
	k, err := f.Tuple()
	if err != nil {
		httpError(w, http.StatusBadRequest, err.Error())
		return
	}
	var e conntrack.Entry
	dir, found := s.b.Table.Lookup(k, &e)
	if !found {
		httpError(w, http.StatusNotFound, "such conntrack doesn't exist")
		return
	}
	ew := newEntryWriter(w, out, s.b.Now())
	if dir == conntrack.DirOriginal || r.URL.Query().Get("dir") != "orig" {
		ew.write(&e)
	}
	ew.w.Flush()
}

// Tuple returns the exact tuple f names (conntrack -G): the protocol,
// single addresses and the protocol's identifiers must all be given. The
// errors are conntrack's.
func (f *Filter) Tuple() (conntrack.Tuple, error) {
	single := func(p netip.Prefix) bool { return p.Bits() == p.Addr().BitLen() }
	switch {
	case !f.HasProto:
		return conntrack.Tuple{}, ctErrorf("You need to supply the `--protonum' option for this command")
	case !f.Src.IsValid() || !f.Dst.IsValid():
		return conntrack.Tuple{}, fmt.Errorf("you have to specify `--src' and `--dst'")
	case !single(f.Src):
		return conntrack.Tuple{}, ctErrorf("Illegal option `--mask-src' with this command")
	case !single(f.Dst):
		return conntrack.Tuple{}, ctErrorf("Illegal option `--mask-dst' with this command")
	}
	var sport, dport uint16
	switch {
	case hasPorts(f.Proto):
		if f.SPort == nil || f.DPort == nil {
			return conntrack.Tuple{}, fmt.Errorf("you have to specify `--sport' and `--dport'")
		}
		sport, dport = *f.SPort, *f.DPort
	case f.Proto == packet.ProtoICMP || f.Proto == packet.ProtoICMPv6:
		pre := "icmp"
		if f.Proto == packet.ProtoICMPv6 {
			pre = "icmpv6"
		}
		switch {
		case f.ICMPType == nil:
			return conntrack.Tuple{}, ctErrorf("You need to supply the `--%s-type' option for this command", pre)
		case f.ICMPCode == nil:
			return conntrack.Tuple{}, ctErrorf("You need to supply the `--%s-code' option for this command", pre)
		case f.ICMPID == nil:
			return conntrack.Tuple{}, ctErrorf("You need to supply the `--%s-id' option for this command", pre)
		}
		sport, dport = *f.ICMPID, uint16(*f.ICMPType)<<8|uint16(*f.ICMPCode)
	}
	k := conntrack.TupleFrom(f.Src.Addr(), f.Dst.Addr(), f.Proto, sport, dport)
	if f.Zone != nil {
		k.Zone = *f.Zone
	}
	return k, nil
}

// ctFlush is conntrack -F.
func (s *Server) ctFlush(w http.ResponseWriter, r *http.Request) {
	if s.b.Table == nil || s.b.Now == nil {
		notImplemented(w, "the connection table")
		return
	}
	n := s.b.Table.Flush(s.b.Now())
	writeJSON(w, struct {
		Flushed int `json:"flushed"`
	}{n})
}

// ctStats is conntrack -S and -C.
func (s *Server) ctStats(w http.ResponseWriter, r *http.Request) {
	if s.b.Table == nil {
		notImplemented(w, "the connection table")
		return
	}
	st := Stats{Entries: s.b.Table.Len(), Stats: s.b.Table.Stats()}
	if set := s.b.Table.Settings(); set != nil {
		st.Max, _ = set.Get("max")
	}
	writeJSON(w, st)
}
