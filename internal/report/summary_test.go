package report_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"reflect"
	"strings"
	"testing"

	"github.com/hare-fw/hare/capture"
	"github.com/hare-fw/hare/internal/report"
	"github.com/hare-fw/hare/packet"
)

// frame is a test frame: hex with spaces and comments allowed ("#" to end
// of line).
type frame struct {
	link packet.LinkType
	hex  string
}

func (f frame) bytes(tb testing.TB) []byte {
	tb.Helper()
	var clean strings.Builder
	for _, line := range strings.Split(f.hex, "\n") {
		line, _, _ = strings.Cut(line, "#")
		clean.WriteString(strings.Join(strings.Fields(line), ""))
	}
	b, err := hex.DecodeString(clean.String())
	if err != nil {
		tb.Fatalf("bad hex: %v", err)
	}
	return b
}

const ethHdr = `
	020000000002 020000000001 # dst, src MAC
`

var frames = []frame{
	{packet.LinkEthernet, ethHdr + `0800 # IPv4
		45 00 001c 0001 0000 40 11 0000 # v4 IHL 5, total 28, ID 1, TTL 64, UDP, checksum unset
		c0000201 c6336407               # 192.0.2.1 -> 198.51.100.7
		3039 0035 0008 0000             # UDP 12345 -> 53, length 8, no checksum
	`},
	{packet.LinkEthernet, ethHdr + `86dd # IPv6
		60000000 0010 2c 40             # payload 16, next header Fragment, hop limit 64
		20010db8000000000000000000000001 # 2001:db8::1
		20010db8000000000000000000000002 # 2001:db8::2
		11 00 0008 00001234             # Fragment: next UDP, offset 8 bytes, M=0, ID 0x1234
		0102030405060708                # the rest of the datagram
	`},
	{packet.LinkEthernet, ethHdr + `0806 # ARP
		0001 0800 06 04 0001 020000000001 c0000201 000000000000 c0000202 # who-has 192.0.2.2
	`},
	{packet.LinkEthernet, ethHdr + `0026 # IEEE 802.3: a length of 38, not an EtherType
		4242 03 0000000000000000000000000000000000000000000000000000000000000000000000 # STP over LLC
	`},
	{packet.LinkIPv4, `
		45 00 001c 0002 0000 40 01 0000 # v4, total 28, ICMP
		c0000201 c6336407
		08 00 0000 0001 0001            # echo request, ID 1, seq 1
	`},
	{packet.LinkEthernet, `02000000000202000000`}, // 10 bytes: a truncated Ethernet header
}

func summarise(t *testing.T, s *report.Summary) *report.Result {
	t.Helper()
	var p packet.Parsed
	for i, f := range frames {
		b := f.bytes(t)
		p.Decode(b, f.link)
		s.Add(&p, len(b)+i, len(b), int64(1e9+i))
	}
	return s.Result()
}

func TestAdd(t *testing.T) {
	r := summarise(t, &report.Summary{})
	if r.Packets != 6 {
		t.Errorf("packets = %d, want 6", r.Packets)
	}
	// Wire lengths are len+i, so bytes exceed captured bytes by 0+1+…+5.
	if r.Bytes != r.CapturedBytes+15 {
		t.Errorf("bytes = %d, captured %d; want captured+15", r.Bytes, r.CapturedBytes)
	}
	if r.FirstTime != "1970-01-01T00:00:01Z" || r.LastTime != "1970-01-01T00:00:01.000000005Z" {
		t.Errorf("times = %s, %s", r.FirstTime, r.LastTime)
	}

	type row struct {
		Name    string
		Packets uint64
	}
	rows := func(v any) []row {
		var out []row
		rv := reflect.ValueOf(v)
		for i := 0; i < rv.Len(); i++ {
			e := rv.Index(i)
			name := e.FieldByName("Name")
			if !name.IsValid() {
				name = e.FieldByName("Reason")
			}
			out = append(out, row{name.String(), e.FieldByName("Packets").Uint()})
		}
		return out
	}
	tests := []struct {
		name string
		got  any
		want []row
	}{
		{"link_types", r.LinkTypes, []row{{"ETHERNET", 5}, {"IPV4", 1}}},
		{"network", r.Network, []row{{"IPv4", 2}, {"802.3", 1}, {"none", 1}, {"ARP", 1}, {"IPv6", 1}}},
		{"transport", r.Transport, []row{{"udp", 2}, {"icmp", 1}}},
		{"ext_headers", r.ExtHeaders, []row{{"frag", 1}}},
		{"anomalies", r.Anomalies, nil},
		{"tunnels", r.Tunnels, nil},
		{"decode_problems", r.DecodeProblems, []row{{packet.ReasonLinkTruncated.String(), 1}}},
		{"checksum_problems", r.ChecksumProblems, nil},
	}
	for _, tt := range tests {
		if got := rows(tt.got); fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("%s = %v, want %v", tt.name, got, tt.want)
		}
	}
	if r.IPv6ExtPackets != 1 {
		t.Errorf("ipv6_ext_packets = %d, want 1", r.IPv6ExtPackets)
	}
	want := report.Fragments{IPv6: report.FragCounts{Later: 1}}
	if r.Fragments != want {
		t.Errorf("fragments = %+v, want %+v", r.Fragments, want)
	}
}

func TestChecksums(t *testing.T) {
	r := summarise(t, &report.Summary{Checksums: true})
	if !r.ChecksumsVerified {
		t.Error("checksums_verified = false")
	}
	// Both IPv4 frames carry a zero header checksum.
	var n uint64
	for _, c := range r.ChecksumProblems {
		if c.Reason == packet.ReasonBadIPv4Checksum.String() {
			n = c.Packets
		}
	}
	if n != 2 {
		t.Errorf("checksum problems = %+v, want 2 bad IPv4 header checksums", r.ChecksumProblems)
	}
	// Decode problems are counted apart from checksum problems.
	if len(r.DecodeProblems) != 1 {
		t.Errorf("decode problems = %+v, want the one truncated frame", r.DecodeProblems)
	}
}

// TestAddNoAllocs checks that counting a packet allocates nothing once its
// link type and EtherType have been seen.
func TestAddNoAllocs(t *testing.T) {
	s := &report.Summary{Checksums: true}
	var bufs [][]byte
	for _, f := range frames {
		bufs = append(bufs, f.bytes(t))
	}
	var p packet.Parsed
	add := func() {
		for i, b := range bufs {
			p.Decode(b, frames[i].link)
			s.Add(&p, len(b), len(b), int64(i))
		}
	}
	add() // first sight of each key may grow the lists
	if n := testing.AllocsPerRun(100, add); n != 0 {
		t.Errorf("Decode+Add of %d frames: %v allocations, want 0", len(bufs), n)
	}
}

// TestEmpty checks the output of a summary with no packets: JSON lists are
// [] rather than null, and the text says so.
func TestEmpty(t *testing.T) {
	s := &report.Summary{}
	var buf bytes.Buffer
	if err := s.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"files", "link_types", "network", "transport", "ext_headers", "anomalies", "tunnels", "decode_problems", "checksum_problems"} {
		if _, ok := m[k].([]any); !ok {
			t.Errorf("%s = %v, want a list", k, m[k])
		}
	}
	if _, ok := m["first_time"]; ok {
		t.Error("first_time present without packets")
	}
	buf.Reset()
	if err := s.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), "0 captures, 0 packets, 0 bytes\n") {
		t.Errorf("text = %q", buf.String())
	}
}

// TestJSONKeys pins the top-level JSON keys, which the package comment
// promises are stable: renaming one breaks users' scripts.
func TestJSONKeys(t *testing.T) {
	s := &report.Summary{}
	summarise(t, s)
	var buf bytes.Buffer
	if err := s.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	want := []string{"anomalies", "bytes", "captured_bytes", "checksum_problems", "checksums_verified",
		"decode_problems", "duration_seconds", "ext_headers", "files", "first_time", "fragments",
		"ipv6_ext_packets", "last_time", "link_types", "network", "packets", "transport", "tunnels"}
	for _, k := range want {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON lacks key %q", k)
		}
		delete(m, k)
	}
	for k := range m {
		t.Errorf("JSON has key %q that TestJSONKeys and the package comment do not list", k)
	}
}

func TestErrorText(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&capture.FormatError{File: "x.pcap", Offset: 1234, Msg: "truncated packet"}, "byte 1234: truncated packet"},
		{fmt.Errorf("wrapped: %w", &capture.FormatError{File: "x.pcap", Offset: 7, Msg: "bad block"}), "byte 7: bad block"},
		{&fs.PathError{Op: "open", Path: "x.pcap", Err: fs.ErrNotExist}, "file does not exist"},
		{errors.New("other"), "other"},
	}
	for _, tt := range tests {
		if got := report.ErrorText(tt.err); got != tt.want {
			t.Errorf("ErrorText(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
