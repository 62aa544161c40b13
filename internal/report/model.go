package report

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"time"

	"github.com/hare-fw/hare/capture"
	"github.com/hare-fw/hare/packet"
)

// Result is the rendered form of a Summary, shared by the text and JSON
// outputs so both always show the same data. Its JSON keys are documented
// in the package comment and are stable.
type Result struct {
	Files           []FileResult `json:"files"`
	Packets         uint64       `json:"packets"`
	Bytes           uint64       `json:"bytes"`
	CapturedBytes   uint64       `json:"captured_bytes"`
	FirstTime       string       `json:"first_time,omitempty"`
	LastTime        string       `json:"last_time,omitempty"`
	DurationSeconds float64      `json:"duration_seconds"`

	LinkTypes []LinkRow      `json:"link_types"`
	Network   []NetworkRow   `json:"network"`
	Transport []TransportRow `json:"transport"`

	IPv6ExtPackets uint64     `json:"ipv6_ext_packets"`
	ExtHeaders     []NamedRow `json:"ext_headers"`
	Anomalies      []NamedRow `json:"anomalies"`
	Fragments      Fragments  `json:"fragments"`
	Tunnels        []NamedRow `json:"tunnels"`

	DecodeProblems    []ReasonRow `json:"decode_problems"`
	ChecksumsVerified bool        `json:"checksums_verified"`
	ChecksumProblems  []ReasonRow `json:"checksum_problems"`

	Conntrack *ConntrackResult `json:"conntrack,omitempty"` // when the replay tracked connections
}

// FileResult is one capture's line.
type FileResult struct {
	Path    string `json:"path"`
	Format  string `json:"format"`
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
	Error   string `json:"error,omitempty"`
}

// LinkRow counts packets of one link type.
type LinkRow struct {
	Name     string `json:"name"`
	LinkType uint16 `json:"link_type"`
	Packets  uint64 `json:"packets"`
	Bytes    uint64 `json:"bytes"`
}

// NetworkRow counts frames of one EtherType.
type NetworkRow struct {
	Name      string `json:"name"`
	EtherType string `json:"ethertype"` // "0x86dd"; "" for the pseudo rows none and 802.3
	Packets   uint64 `json:"packets"`
	Bytes     uint64 `json:"bytes"`
}

// TransportRow counts IP packets of one upper-layer protocol.
type TransportRow struct {
	Name     string `json:"name"`
	Protocol uint8  `json:"protocol"`
	Packets  uint64 `json:"packets"`
	Bytes    uint64 `json:"bytes"`
}

// NamedRow counts packets with one property.
type NamedRow struct {
	Name    string `json:"name"`
	Packets uint64 `json:"packets"`
}

// ReasonRow counts packets with one packet.Reason.
type ReasonRow struct {
	Reason  string `json:"reason"`
	Packets uint64 `json:"packets"`
}

// Fragments counts fragments per IP version.
type Fragments struct {
	IPv4 FragCounts `json:"ipv4"`
	IPv6 FragCounts `json:"ipv6"`
}

// FragCounts counts packets by packet.FragKind.
type FragCounts struct {
	First  uint64 `json:"first"`
	Later  uint64 `json:"later"`
	Atomic uint64 `json:"atomic"`
}

// Result returns the summary in rendered form.
func (s *Summary) Result() *Result {
	r := &Result{
		Files:             make([]FileResult, 0, len(s.Files)),
		Packets:           s.Packets,
		Bytes:             s.Bytes,
		CapturedBytes:     s.CapturedBytes,
		LinkTypes:         []LinkRow{},
		Network:           []NetworkRow{},
		Transport:         []TransportRow{},
		IPv6ExtPackets:    s.extPackets,
		ExtHeaders:        []NamedRow{},
		Anomalies:         []NamedRow{},
		Tunnels:           []NamedRow{},
		DecodeProblems:    []ReasonRow{},
		ChecksumsVerified: s.Checksums,
		ChecksumProblems:  []ReasonRow{},
	}
	for _, f := range s.Files {
		fr := FileResult{Path: f.Path, Format: f.Format, Packets: f.Packets, Bytes: f.Bytes}
		if f.Err != nil {
			fr.Error = ErrorText(f.Err)
		}
		r.Files = append(r.Files, fr)
	}
	if s.Timed {
		r.FirstTime = formatTime(s.First)
		r.LastTime = formatTime(s.Last)
		r.DurationSeconds = time.Duration(s.Last - s.First).Seconds()
	}

	for _, k := range s.links {
		l := packet.LinkType(k.key)
		r.LinkTypes = append(r.LinkTypes, LinkRow{Name: l.String(), LinkType: k.key, Packets: k.Packets, Bytes: k.Bytes})
	}
	slices.SortFunc(r.LinkTypes, func(a, b LinkRow) int {
		return cmp.Or(cmp.Compare(b.Packets, a.Packets), cmp.Compare(a.LinkType, b.LinkType))
	})

	for _, k := range s.network {
		r.Network = append(r.Network, NetworkRow{Name: etherTypeName(k.key), EtherType: etherTypeHex(k.key), Packets: k.Packets, Bytes: k.Bytes})
	}
	slices.SortFunc(r.Network, func(a, b NetworkRow) int {
		return cmp.Or(cmp.Compare(b.Packets, a.Packets), cmp.Compare(a.EtherType, b.EtherType), cmp.Compare(a.Name, b.Name))
	})

	for proto, c := range s.transport {
		if c.Packets > 0 {
			r.Transport = append(r.Transport, TransportRow{Name: packet.IPProto(proto).String(), Protocol: uint8(proto), Packets: c.Packets, Bytes: c.Bytes})
		}
	}
	slices.SortStableFunc(r.Transport, func(a, b TransportRow) int { return cmp.Compare(b.Packets, a.Packets) })

	for k, n := range s.ext {
		r.ExtHeaders = appendNamed(r.ExtHeaders, packet.ExtKind(k).String(), n)
	}
	for i, n := range s.anomalies {
		r.Anomalies = appendNamed(r.Anomalies, packet.AnomalyName(i), n)
	}
	for t, n := range s.tunnels {
		r.Tunnels = appendNamed(r.Tunnels, packet.Tunnel(t).String(), n)
	}
	for _, l := range [][]NamedRow{r.ExtHeaders, r.Anomalies, r.Tunnels} {
		slices.SortStableFunc(l, func(a, b NamedRow) int { return cmp.Compare(b.Packets, a.Packets) })
	}

	r.Fragments.IPv4 = fragCounts(s.frags[0])
	r.Fragments.IPv6 = fragCounts(s.frags[1])

	r.DecodeProblems = reasonRows(r.DecodeProblems, &s.problems)
	r.ChecksumProblems = reasonRows(r.ChecksumProblems, &s.checksums)
	if s.Track != nil {
		r.Conntrack = s.Track.result()
	}
	return r
}

func appendNamed(l []NamedRow, name string, n uint64) []NamedRow {
	if n == 0 {
		return l
	}
	return append(l, NamedRow{Name: name, Packets: n})
}

func fragCounts(c [4]uint64) FragCounts {
	return FragCounts{First: c[packet.FragFirst], Later: c[packet.FragLater], Atomic: c[packet.FragAtomic]}
}

func reasonRows(l []ReasonRow, counts *[packet.NumReasons]uint64) []ReasonRow {
	for r, n := range counts {
		if n > 0 {
			l = append(l, ReasonRow{Reason: packet.Reason(r).String(), Packets: n})
		}
	}
	slices.SortStableFunc(l, func(a, b ReasonRow) int { return cmp.Compare(b.Packets, a.Packets) })
	return l
}

func formatTime(ns int64) string {
	return time.Unix(0, ns).UTC().Format(time.RFC3339Nano)
}

// ErrorText describes a capture error without the file name, leading with
// the byte offset where the reader stopped when the error carries one:
// "byte 1234: truncated packet record".
func ErrorText(err error) string {
	var fe *capture.FormatError
	if errors.As(err, &fe) {
		return fmt.Sprintf("byte %d: %s", fe.Offset, fe.Msg)
	}
	var le *capture.LinkTypeError
	if errors.As(err, &le) {
		return fmt.Sprintf("byte %d: unsupported link type %d (%s)", le.Offset, le.Link, le.Link)
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error() // the caller names the file already
	}
	return err.Error()
}
