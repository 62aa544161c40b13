package control

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// Client talks to a control server over its unix socket. Its methods
// mirror the endpoints; each returns an *Error for an answer other than
// success. Safe for concurrent use.
type Client struct {
	path string
	hc   *http.Client
}

// Error is an error answer: the HTTP status and the server's message,
// and for an error in posted nft source, where it is.
type Error struct {
	Status int
	Msg    string
	Pos    *ErrorPos
}

func (e *Error) Error() string { return e.Msg }

// NewClient returns a client of the server listening at path ("" means
// DefaultSocket). It connects on first use.
func NewClient(path string) *Client {
	if path == "" {
		path = DefaultSocket
	}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
		DisableCompression: true,
	}
	return &Client{path: path, hc: &http.Client{Transport: tr}}
}

// Path returns the socket's path.
func (c *Client) Path() string { return c.path }

// do sends a request and returns the response if its status is 2xx; the
// caller closes the body.
func (c *Client) do(ctx context.Context, method, path string, q url.Values, body []byte) (*http.Response, error) {
	u := "http://hare" + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		var eb errorBody
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if json.Unmarshal(b, &eb) != nil || eb.Error == "" {
			eb.Error = strings.TrimSpace(string(b))
		}
		return nil, &Error{resp.StatusCode, eb.Error, eb.Pos}
	}
	return resp, nil
}

func (c *Client) getJSON(ctx context.Context, method, path string, q url.Values, body []byte, v any) error {
	resp, err := c.do(ctx, method, path, q, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}

// TextOptions are conntrack's -o options for text output; with JSON the
// lines are JSON objects instead (ctfmt.Entry), and the others are ignored.
type TextOptions struct {
	Extended, ID, KTimestamp, Timestamp bool
	JSON                                bool
}

func (o TextOptions) values(f *Filter) url.Values {
	q := url.Values{}
	if f != nil {
		q = f.Values()
	}
	q.Set("format", "text")
	if o.JSON {
		q.Set("format", "json")
	}
	var ws []string
	for _, x := range []struct {
		on bool
		w  string
	}{{o.Extended, "extended"}, {o.ID, "id"}, {o.KTimestamp, "ktimestamp"}, {o.Timestamp, "timestamp"}} {
		if x.on {
			ws = append(ws, x.w)
		}
	}
	if len(ws) > 0 {
		q.Set("o", strings.Join(ws, ","))
	}
	return q
}

// lines calls fn with each line of the response.
func (c *Client) lines(ctx context.Context, method, path string, q url.Values, fn func(string) error) error {
	resp, err := c.do(ctx, method, path, q, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		if err := fn(sc.Text()); err != nil {
			return err
		}
	}
	return sc.Err()
}

// List calls fn with each matching entry as conntrack -L prints it.
func (c *Client) List(ctx context.Context, f *Filter, o TextOptions, fn func(line string) error) error {
	return c.lines(ctx, http.MethodGet, "/v1/conntrack", o.values(f), fn)
}

// Delete destroys the matching entries and calls fn with each, as conntrack
// -D prints it.
func (c *Client) Delete(ctx context.Context, f *Filter, o TextOptions, fn func(line string) error) error {
	return c.lines(ctx, http.MethodDelete, "/v1/conntrack", o.values(f), fn)
}

// Get returns the entry whose original tuple is the one f names
// (Filter.Tuple) as conntrack -G prints it; an *Error with Status 404 if
// there is none, and "" if the tuple is an entry's reply tuple (see the
// endpoint).
func (c *Client) Get(ctx context.Context, f *Filter, o TextOptions) (string, error) {
	var line string
	q := o.values(f)
	q.Set("dir", "orig")
	err := c.lines(ctx, http.MethodGet, "/v1/conntrack/entry", q, func(s string) error {
		line = s
		return nil
	})
	return line, err
}

// Flush destroys every entry and returns how many there were.
func (c *Client) Flush(ctx context.Context) (int, error) {
	var r struct {
		Flushed int `json:"flushed"`
	}
	err := c.getJSON(ctx, http.MethodPost, "/v1/conntrack/flush", nil, nil, &r)
	return r.Flushed, err
}

// Stats returns the table's statistics and size.
func (c *Client) Stats(ctx context.Context) (Stats, error) {
	var st Stats
	err := c.getJSON(ctx, http.MethodGet, "/v1/conntrack/stats", nil, nil, &st)
	return st, err
}

// EventOptions select an event stream's events and their text.
type EventOptions struct {
	TextOptions
	Types string // NEW,UPDATE,DESTROY (conntrack -e); "" all
	Queue int    // events buffered server-side before losing some; 0 default
	// Ready, if not nil, is called once the server has subscribed.
	Ready func()
}

// Events follows the event stream until ctx ends, the server closes or fn
// returns an error, calling fn with each record (an event line, or a
// count of lost events).
func (c *Client) Events(ctx context.Context, f *Filter, o EventOptions, fn func(Record) error) error {
	q := o.values(f)
	if o.Types != "" {
		q.Set("events", o.Types)
	}
	if o.Queue > 0 {
		q.Set("queue", fmt.Sprint(o.Queue))
	}
	return c.stream(ctx, "/v1/conntrack/events", q, o.Ready, fn)
}

// Trace follows the trace stream (`nft monitor trace`): each record is
// one packet's trace lines, or a count of lost ones.
func (c *Client) Trace(ctx context.Context, ready func(), fn func(Record) error) error {
	return c.stream(ctx, "/v1/trace", nil, ready, fn)
}

func (c *Client) stream(ctx context.Context, path string, q url.Values, ready func(), fn func(Record) error) error {
	resp, err := c.do(ctx, http.MethodGet, path, q, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if ready != nil {
		ready()
	}
	dec := json.NewDecoder(resp.Body)
	for {
		var rec Record
		if err := dec.Decode(&rec); err != nil {
			if err == io.EOF || ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		if err := fn(rec); err != nil {
			return err
		}
	}
}

// ListOptions select what ListRuleset prints.
type ListOptions struct {
	Family, Table, Chain, Set string // "" for the whole ruleset
	Handles                   bool   // nft -a
	Stateless                 bool   // nft -s
	JSON                      bool   // nft -j
}

// ListRuleset returns the running ruleset, or the part named, as nft list
// prints it.
func (c *Client) ListRuleset(ctx context.Context, o ListOptions) (string, error) {
	q := url.Values{}
	for k, v := range map[string]string{"family": o.Family, "table": o.Table, "chain": o.Chain, "set": o.Set} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if o.Handles {
		q.Set("handles", "1")
	}
	if o.Stateless {
		q.Set("stateless", "1")
	}
	if o.JSON {
		q.Set("format", "json")
	}
	resp, err := c.do(ctx, http.MethodGet, "/v1/ruleset", q, nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// Apply runs nft source (a file for nft -f, or one command) against the
// running ruleset as one transaction; name is its file name in error
// messages; check only checks it (nft -c).
func (c *Client) Apply(ctx context.Context, name string, src []byte, check bool) error {
	q := url.Values{"name": {name}}
	if check {
		q.Set("check", "1")
	}
	if src == nil {
		src = []byte{}
	}
	var r struct{}
	return c.getJSON(ctx, http.MethodPost, "/v1/ruleset", q, src, &r)
}

// Counters returns the rule counters and named objects.
func (c *Client) Counters(ctx context.Context) (Counters, error) {
	var r Counters
	err := c.getJSON(ctx, http.MethodGet, "/v1/counters", nil, nil, &r)
	return r, err
}

// Reload asks the daemon to reload its configuration and ruleset.
func (c *Client) Reload(ctx context.Context) error {
	var r struct{}
	return c.getJSON(ctx, http.MethodPost, "/v1/reload", nil, nil, &r)
}

// DaemonStats returns the daemon's own statistics as raw JSON.
func (c *Client) DaemonStats(ctx context.Context) (json.RawMessage, error) {
	var r json.RawMessage
	err := c.getJSON(ctx, http.MethodGet, "/v1/stats", nil, nil, &r)
	return r, err
}
