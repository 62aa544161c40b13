package scenario

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/hare-fw/hare/capture"
	"github.com/hare-fw/hare/packet"
	"github.com/hare-fw/hare/packet/packettest"
)

// Scenario is one generated capture.
type Scenario struct {
	// Name is the capture's file name without extension: PROTO_WHAT, in
	// the style of the shared corpus (tcp_simultaneous-open).
	Name string
	// Doc says in one line what the scenario exercises.
	Doc string
	// Rows are the requirement ids it covers (K-12, TW-07, REC-31…).
	Rows []string
	// Frames are the captured frames in capture order.
	Frames []Frame
	// Settings are the sysctls (NAME=VALUE) the kernel reference is made
	// with, beyond the oracle's defaults: scripts/scenario-oracle.sh passes
	// each with -s, and the reference's sysctl.txt records them. Empty for
	// most scenarios.
	Settings []string
}

// Frame is one captured frame.
type Frame struct {
	Time int64 // capture time, nanoseconds since the Unix epoch
	Link packet.LinkType
	Data []byte
	// Want is the Reason packet.Parsed reports after Decode and
	// VerifyChecksums: ReasonNone for a well-formed frame, otherwise the
	// defect the scenario builds on purpose.
	Want packet.Reason
}

// Start is the capture time of every scenario's first frame:
// 2025-01-01 00:00:00 UTC.
const Start = int64(1735689600) * int64(time.Second)

// step is the time between consecutive frames.
const step = time.Millisecond

// All returns every scenario, in a fixed order, built afresh.
func All() []Scenario {
	var all []Scenario
	for _, group := range [][]Scenario{tcpScenarios(), icmpScenarios(), fragScenarios(), otherScenarios()} {
		all = append(all, group...)
	}
	return all
}

// WriteAll writes every scenario to dir/NAME.pcapng, replacing files of the
// same name. It creates dir if needed.
func WriteAll(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write scenarios: %w", err)
	}
	for _, s := range All() {
		b, err := Encode(s)
		if err != nil {
			return err
		}
		p := filepath.Join(dir, s.Name+".pcapng")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return fmt.Errorf("write scenario %s: %w", s.Name, err)
		}
	}
	return nil
}

// Encode returns s as a pcapng file: one interface per link type, in order
// of first use, named after it, and one Enhanced Packet Block per frame.
func Encode(s Scenario) ([]byte, error) {
	var buf bytes.Buffer
	w, err := capture.NewWriter(&buf)
	if err != nil {
		return nil, fmt.Errorf("encode scenario %s: %w", s.Name, err)
	}
	ifaces := map[packet.LinkType]int{}
	for i, f := range s.Frames {
		id, ok := ifaces[f.Link]
		if !ok {
			id, err = w.AddInterface(f.Link, 0, fmt.Sprintf("link%d", uint16(f.Link)))
			if err != nil {
				return nil, fmt.Errorf("encode scenario %s: %w", s.Name, err)
			}
			ifaces[f.Link] = id
		}
		if err := w.WritePacket(id, f.Time, f.Data, len(f.Data)); err != nil {
			return nil, fmt.Errorf("encode scenario %s frame %d: %w", s.Name, i+1, err)
		}
	}
	if err := w.Flush(); err != nil {
		return nil, fmt.Errorf("encode scenario %s: %w", s.Name, err)
	}
	return buf.Bytes(), nil
}

// trace collects the frames of one scenario, 1 ms apart, each an IP packet
// in an Ethernet frame.
type trace struct {
	now    int64
	frames []Frame
}

func newTrace() *trace { return &trace{now: Start - int64(step)} }

// add appends ip in an Ethernet frame whose EtherType follows the IP
// version.
func (t *trace) add(ip []byte) { t.addWant(ip, packet.ReasonNone) }

// addWant appends ip, which is built to decode with Reason want.
func (t *trace) addWant(ip []byte, want packet.Reason) {
	et := uint16(packettest.EtherTypeIPv4)
	if ip[0]>>4 == 6 {
		et = packettest.EtherTypeIPv6
	}
	t.now += int64(step)
	frame := packettest.PadEthernet(packettest.Cat(packettest.Ether(packettest.MAC2, packettest.MAC1, et), ip))
	t.frames = append(t.frames, Frame{Time: t.now, Link: packet.LinkEthernet, Data: frame, Want: want})
}

// addAll appends each packet of ips in order.
func (t *trace) addAll(ips ...[]byte) {
	for _, ip := range ips {
		t.add(ip)
	}
}

// Addresses. The client side is 192.0.2.0/24 and 2001:db8:1::/64, servers
// are 198.51.100.0/24 and 2001:db8:2::/64, routers and strangers
// 203.0.113.0/24 and 2001:db8:ff::/48 / 2001:db8:bad::/48.
var (
	client4  = netip.MustParseAddr("192.0.2.10")
	client4b = netip.MustParseAddr("192.0.2.11")
	server4  = netip.MustParseAddr("198.51.100.20")
	server4b = netip.MustParseAddr("198.51.100.21")
	hop4     = netip.MustParseAddr("203.0.113.1")  // a router on the path that sends ICMP errors
	spoof4   = netip.MustParseAddr("203.0.113.99") // an address that is part of no flow
	evil4    = netip.MustParseAddr("203.0.113.66")

	client6  = netip.MustParseAddr("2001:db8:1::10")
	client6b = netip.MustParseAddr("2001:db8:1::11")
	router6  = netip.MustParseAddr("2001:db8:1::1")
	server6  = netip.MustParseAddr("2001:db8:2::20")
	server6b = netip.MustParseAddr("2001:db8:2::21")
	hop6     = netip.MustParseAddr("2001:db8:ff::1")
	spoof6   = netip.MustParseAddr("2001:db8:ff::99")
	evil6    = netip.MustParseAddr("2001:db8:bad::66")

	linkClient6 = netip.MustParseAddr("fe80::10")
	linkRouter6 = netip.MustParseAddr("fe80::1")
)

// ipPacket wraps an upper-layer packet of protocol proto in an IPv4 header
// (identification id, DF set) or an IPv6 header, by the family of src.
func ipPacket(src, dst netip.Addr, proto uint8, id uint16, l4 []byte) []byte {
	if src.Is4() {
		return packettest.IPv4(src, dst, proto, l4, packettest.ID(id), packettest.DF())
	}
	return packettest.IPv6(src, dst, proto, l4)
}

// sc is a shorthand for building a Scenario.
func sc(name, doc string, rows []string, t *trace) Scenario {
	return Scenario{Name: name, Doc: doc, Rows: rows, Frames: t.frames}
}

// rows is a shorthand for a list of requirement ids.
func rows(ids ...string) []string { return ids }

// fill returns n bytes of a repeating pattern starting with tag, so a
// payload in a hex dump says where it came from.
func fill(tag string, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		if i < len(tag) {
			b[i] = tag[i]
		} else {
			b[i] = byte('a' + i%26)
		}
	}
	return b
}
