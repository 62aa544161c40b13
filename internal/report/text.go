package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// WriteJSON writes the summary as one indented JSON object followed by a
// newline. The keys are described in the package comment.
func (s *Summary) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s.Result())
}

// WriteText writes the summary as aligned tables for people. Sections with
// nothing to show are one line ("tunnels: none"); the layout may change
// between versions, so programs should read WriteJSON's output instead.
func (s *Summary) WriteText(w io.Writer) error {
	r := s.Result()
	var b strings.Builder
	pct := func(n uint64) string { return percent(n, r.Packets) }

	fmt.Fprintf(&b, "%s, %d packets, %d bytes", plural(len(r.Files), "capture"), r.Packets, r.Bytes)
	if r.CapturedBytes != r.Bytes {
		fmt.Fprintf(&b, " (%d captured)", r.CapturedBytes)
	}
	b.WriteString("\n")
	if r.FirstTime != "" {
		fmt.Fprintf(&b, "from %s to %s (%s)\n", r.FirstTime, r.LastTime, span(r.DurationSeconds))
	}

	t := table{head: []string{"FILE", "FORMAT", "PACKETS", "BYTES", "STATUS"}}
	for _, f := range r.Files {
		status := "ok"
		if f.Error != "" {
			status = "incomplete"
			if f.Format == "" {
				status = "unreadable"
			}
		}
		t.add(f.Path, f.Format, u(f.Packets), u(f.Bytes), status)
	}
	t.write(&b, "files")

	t = table{head: []string{"LINK TYPE", "PACKETS", "%", "BYTES"}}
	for _, l := range r.LinkTypes {
		t.add(fmt.Sprintf("%s (%d)", l.Name, l.LinkType), u(l.Packets), pct(l.Packets), u(l.Bytes))
	}
	t.write(&b, "link types")

	t = table{head: []string{"NETWORK", "PACKETS", "%", "BYTES"}}
	for _, n := range r.Network {
		name := n.Name
		if n.EtherType != "" && n.EtherType != n.Name {
			name += " (" + n.EtherType + ")"
		}
		t.add(name, u(n.Packets), pct(n.Packets), u(n.Bytes))
	}
	t.write(&b, "network")

	t = table{head: []string{"TRANSPORT", "PACKETS", "%", "BYTES"}}
	for _, p := range r.Transport {
		name := p.Name
		if name != strconv.Itoa(int(p.Protocol)) {
			name += fmt.Sprintf(" (%d)", p.Protocol)
		}
		t.add(name, u(p.Packets), pct(p.Packets), u(p.Bytes))
	}
	t.write(&b, "transport")

	t = table{head: []string{"IPV6 EXTENSION HEADER", "PACKETS"}}
	for _, e := range r.ExtHeaders {
		t.add(e.Name, u(e.Packets))
	}
	if len(t.rows) > 0 {
		t.foot = fmt.Sprintf("%s with extension headers", plural(int(r.IPv6ExtPackets), "IPv6 packet"))
	}
	t.write(&b, "IPv6 extension headers")

	t = table{head: []string{"ANOMALY", "PACKETS"}}
	for _, a := range r.Anomalies {
		t.add(a.Name, u(a.Packets))
	}
	t.write(&b, "anomalies")

	t = table{head: []string{"FRAGMENTS", "IPV4", "IPV6"}}
	fr := r.Fragments
	if fr != (Fragments{}) {
		t.add("first", u(fr.IPv4.First), u(fr.IPv6.First))
		t.add("later", u(fr.IPv4.Later), u(fr.IPv6.Later))
		t.add("atomic", u(fr.IPv4.Atomic), u(fr.IPv6.Atomic))
	}
	t.write(&b, "fragments")

	t = table{head: []string{"TUNNEL", "PACKETS"}}
	for _, tu := range r.Tunnels {
		t.add(tu.Name, u(tu.Packets))
	}
	t.write(&b, "tunnels")

	t = table{head: []string{"DECODE PROBLEM", "PACKETS"}}
	for _, p := range r.DecodeProblems {
		t.add(p.Reason, u(p.Packets))
	}
	t.write(&b, "decode problems")

	if r.ChecksumsVerified {
		t = table{head: []string{"CHECKSUM PROBLEM", "PACKETS"}}
		for _, p := range r.ChecksumProblems {
			t.add(p.Reason, u(p.Packets))
		}
		t.write(&b, "checksum problems")
	} else {
		b.WriteString("\nchecksums: not verified (--checksum verifies them)\n")
	}
	if r.Conntrack != nil {
		writeConntrackText(&b, r.Conntrack)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// table is a text table: the first column left-aligned, the rest
// right-aligned, two spaces apart.
type table struct {
	head []string
	rows [][]string
	foot string // a line under the table
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

// write writes the table after a blank line, or "name: none" when it has
// no rows.
func (t *table) write(b *strings.Builder, name string) {
	b.WriteString("\n")
	if len(t.rows) == 0 {
		b.WriteString(name + ": none\n")
		return
	}
	width := make([]int, len(t.head))
	for _, row := range append([][]string{t.head}, t.rows...) {
		for i, c := range row {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	// Columns of numbers are right-aligned, the rest left-aligned.
	right := make([]bool, len(t.head))
	for i := range right {
		right[i] = i > 0
		for _, row := range t.rows {
			if !isNumber(row[i]) {
				right[i] = false
			}
		}
	}
	for _, row := range append([][]string{t.head}, t.rows...) {
		var line strings.Builder
		for i, c := range row {
			if i > 0 {
				line.WriteString("  ")
			}
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			if right[i] {
				line.WriteString(pad + c)
			} else {
				line.WriteString(c + pad)
			}
		}
		b.WriteString(strings.TrimRight(line.String(), " ") + "\n")
	}
	if t.foot != "" {
		b.WriteString(t.foot + "\n")
	}
}

// span formats a capture's duration: seconds as given for short ones,
// rounded to the millisecond up to three days, days beyond (captures with
// bogus clocks span centuries).
func span(secs float64) string {
	d := time.Duration(secs * float64(time.Second))
	switch {
	case d < time.Minute:
		return strconv.FormatFloat(secs, 'f', -1, 64) + "s"
	case d < 72*time.Hour:
		return d.Round(time.Millisecond).String()
	}
	return strconv.FormatFloat(secs/86400, 'f', 1, 64) + " days"
}

// isNumber reports whether c is a count or a percentage ("-" when there
// is nothing to divide by).
func isNumber(c string) bool {
	if c == "-" {
		return true
	}
	_, err := strconv.ParseFloat(c, 64)
	return err == nil
}

func u(n uint64) string { return strconv.FormatUint(n, 10) }

func percent(n, total uint64) string {
	if total == 0 {
		return "-"
	}
	return strconv.FormatFloat(100*float64(n)/float64(total), 'f', 1, 64)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}
