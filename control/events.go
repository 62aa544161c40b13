package control

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/hare-fw/hare/conntrack"
	"github.com/hare-fw/hare/internal/ctfmt"
)

// Record is one line of an event or trace stream (NDJSON): an event, a
// chunk of trace lines, or a count of what this stream lost because it did
// not keep up (the events conntrack -E would have lost to ENOBUFS).
type Record struct {
	Line  string       `json:"line,omitempty"`  // an event as conntrack -E prints it (format=text), or trace lines
	Event *ctfmt.Event `json:"event,omitempty"` // an event as JSON (format=json)
	Lost  uint64       `json:"lost,omitempty"`  // events or trace messages lost since the last record
}

// eventQueue is how many events a stream buffers before it loses some.
const eventQueue = 65536

// maxEventQueue bounds queue=N: the ring is allocated at once (an Event is
// a few hundred bytes), and a request must not be able to make the
// daemon run out of memory. 2^20 events is a few hundred MiB.
const maxEventQueue = 1 << 20

// parseEventTypes reads the events parameter: NEW,UPDATE,DESTROY (conntrack
// -E -e); empty means all.
func parseEventTypes(s string) (mask uint8, err error) {
	if s == "" || strings.EqualFold(s, "ALL") {
		return 0xff, nil
	}
	for _, w := range strings.Split(s, ",") {
		switch strings.ToUpper(w) {
		case "NEW":
			mask |= 1 << conntrack.EventTypeNew
		case "UPDATE":
			mask |= 1 << conntrack.EventTypeUpdate
		case "DESTROY":
			mask |= 1 << conntrack.EventTypeDestroy
		case "ALL":
			mask = 0xff
		default:
			return 0, ctErrorf("Bad parameter `%s'", w)
		}
	}
	return mask, nil
}

// ctEvents is conntrack -E: it streams the table's events from the moment
// of the request until the client goes away or the server closes.
func (s *Server) ctEvents(w http.ResponseWriter, r *http.Request) {
	if s.b.Events == nil {
		notImplemented(w, "the event stream")
		return
	}
	f, out, ok := s.tableRequest(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	mask, err := parseEventTypes(q.Get("events"))
	if err != nil {
		httpError(w, http.StatusBadRequest, err.Error())
		return
	}
	size := eventQueue
	if s := q.Get("queue"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxEventQueue {
			httpError(w, http.StatusBadRequest, fmt.Sprintf("queue %q: not between 1 and %d", s, maxEventQueue))
			return
		}
		size = n
	}
	sub := s.b.Events.Subscribe(size)
	defer sub.Close()
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	if fl != nil {
		fl.Flush() // the client knows it is subscribed
	}
	bw := bufio.NewWriter(w)
	batch := make([]conntrack.Event, 256)
	var lost uint64
	var line []byte
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.done:
			return
		case <-sub.Wait():
		}
		for {
			n := sub.Read(batch)
			if l := sub.Lost(); l > lost {
				writeRecord(bw, &Record{Lost: l - lost})
				lost = l
			}
			for i := range batch[:n] {
				ev := &batch[i]
				if mask&(1<<ev.Type) == 0 || !f.Match(&ev.Entry) {
					continue
				}
				if out.text {
					line = ctfmt.AppendEvent(line[:0], ev, out.opts)
					writeRecord(bw, &Record{Line: string(line)})
				} else {
					j := ctfmt.EventJSON(ev, 0, out.opts)
					writeRecord(bw, &Record{Event: &j})
				}
			}
			if n < len(batch) {
				break
			}
		}
		if bw.Flush() != nil {
			return
		}
		if fl != nil {
			fl.Flush()
		}
	}
}

func writeRecord(w *bufio.Writer, rec *Record) {
	b, _ := json.Marshal(rec)
	w.Write(append(b, '\n'))
}

// trace streams `nft monitor trace` lines from the TraceHub.
func (s *Server) trace(w http.ResponseWriter, r *http.Request) {
	if s.b.Trace == nil {
		notImplemented(w, "packet tracing")
		return
	}
	sub := s.b.Trace.subscribe(4096)
	defer s.b.Trace.unsubscribe(sub)
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	if fl != nil {
		fl.Flush()
	}
	bw := bufio.NewWriter(w)
	var lost uint64
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.done:
			return
		case c := <-sub.ch:
			if l := sub.lost.Load(); l > lost {
				writeRecord(bw, &Record{Lost: l - lost})
				lost = l
			}
			writeRecord(bw, &Record{Line: string(c)})
		}
		if len(sub.ch) > 0 {
			continue // more queued: write them before flushing
		}
		if bw.Flush() != nil {
			return
		}
		if fl != nil {
			fl.Flush()
		}
	}
}
