package ctfmt

import (
	"io"
	"net/netip"
	"strconv"
	"time"

	"github.com/hare-fw/hare/conntrack"
	"github.com/hare-fw/hare/packet"
)

// The text of /proc/net/nf_conntrack, for tools that parse that file
// rather than ask conntrack(8). The kernel writes it in ct_seq_show
// (net/netfilter/nf_conntrack_standalone.c), one line per entry:
//
//	ipv4     2 tcp      6 59 CLOSE_WAIT src=10.77.0.1 dst=10.77.0.2 sport=42032 dport=8080 packets=3 bytes=164 src=10.77.0.2 dst=10.77.0.1 sport=8080 dport=42032 packets=2 bytes=112 [ASSURED] mark=42 zone=0 delta-time=0 use=2
//
// field by field:
//
//	"%-8s %u %-8s %u "   family name, AF number, protocol name, protocol number;
//	                     the name is l4proto_name's: icmp tcp udp gre sctp udplite
//	                     icmpv6, else unknown (DCCP too: Linux 6.16 removed its tracker)
//	"%ld "               seconds left (nf_ct_expires / HZ)
//	print_conntrack      TCP and SCTP: the state and a blank; GRE:
//	                     "timeout=%u, stream_timeout=%u " (gre_print_conntrack)
//	print_tuple          src= dst= (IPv4 dotted, IPv6 %pI6: eight groups of four
//	                     hex digits, nothing compressed), then sport= dport=,
//	                     type= code= id= or srckey=0x dstkey=0x
//	packets= bytes=      with the acct extension (nf_conntrack_acct at creation)
//	[UNREPLIED]          unless SEEN_REPLY
//	print_tuple, packets= bytes= of the reply direction
//	[ASSURED]            ([OFFLOAD] and [HW_OFFLOAD] never: hare does not offload)
//	mark=%u
//	zone=%u              always: ct_show_zone prints the default-direction zone, 0 too
//	delta-time=%llu      with the timestamp extension: whole seconds since the start
//	use=%u               the entry's reference count while it is printed
//
// Checked byte for byte against the kernel: testdata/procfs/ has the file
// as Linux 6.18 wrote it, with and without acct and timestamps, and
// `conntrack -L -o extended` of the same entries (proc_test.go).
//
// What hare prints differently: use=2, the count of an entry referenced only
// by the table while the reader holds it (hare has no reference counts);
// no secctx= (hare has no security marks, as a kernel without
// CONFIG_NF_CONNTRACK_SECMARK); GRE's timeouts are the settings in force,
// where the kernel keeps the ones in force when the entry was made; and
// counters and delta-time appear for all entries or none, as hare's acct
// and timestamp settings are table-wide, where the kernel decides per
// entry when it is created.

// ProcOptions say what the entries carry.
type ProcOptions struct {
	// Acct and Stamps: the entries have counters and start times (the
	// settings acct and timestamp).
	Acct, Stamps bool
	// GRETimeout and GREStreamTimeout are gre_timeout and
	// gre_timeout_stream in seconds, which the kernel prints on GRE lines.
	GRETimeout, GREStreamTimeout int64
}

// ProcOptionsFor returns the options that describe the entries of a table
// with settings s.
func ProcOptionsFor(s *conntrack.Settings) ProcOptions {
	get := func(name string) int64 { v, _ := s.Get(name); return v }
	return ProcOptions{
		Acct:             get("acct") != 0,
		Stamps:           get("timestamp") != 0,
		GRETimeout:       get("gre_timeout"),
		GREStreamTimeout: get("gre_timeout_stream"),
	}
}

// AppendProc appends e as a line of /proc/net/nf_conntrack, newline
// included; now is the table clock (ns), which gives the seconds left and
// delta-time. The table clock is the wall clock's, as ct_seq_start's
// ktime_get_real_ns is.
func AppendProc(b []byte, e *conntrack.Entry, now int64, o ProcOptions) []byte {
	b = appendPadName(b, FamilyName(e.Orig.Family), int(familyNumber(e.Orig.Family)))
	b = appendPadName(b, procProtoName(e.Orig.Proto), int(e.Orig.Proto))
	b = strconv.AppendInt(b, secondsLeft(e.Deadline, now), 10)
	b = append(b, ' ')
	switch e.Orig.Proto {
	case packet.ProtoTCP:
		b = append(b, e.TCPState.String()...)
		b = append(b, ' ')
	case packet.ProtoSCTP:
		b = append(b, e.SCTPState.String()...)
		b = append(b, ' ')
	case packet.ProtoGRE:
		b = append(b, "timeout="...)
		b = strconv.AppendInt(b, o.GRETimeout, 10)
		b = append(b, ", stream_timeout="...)
		b = strconv.AppendInt(b, o.GREStreamTimeout, 10)
		b = append(b, ' ')
	}
	b = appendTuples(b, e, o.Acct, appendAddrProc)
	b = append(b, "mark="...)
	b = strconv.AppendUint(b, uint64(e.Mark), 10)
	b = append(b, " zone="...)
	b = strconv.AppendUint(b, uint64(e.Zone()), 10)
	b = append(b, ' ')
	if o.Stamps {
		// ct_show_delta_time: nanoseconds since the start, divided
		// down to seconds; 0 when not positive.
		b = append(b, "delta-time="...)
		b = strconv.AppendInt(b, max(now-e.Start, 0)/int64(time.Second), 10)
		b = append(b, ' ')
	}
	return append(b, "use=2\n"...)
}

// procProtoName is the kernel's l4proto_name: the protocols it has a
// tracker for.
func procProtoName(p packet.IPProto) string {
	if p == packet.ProtoDCCP {
		return "unknown"
	}
	return ProtoName(p)
}

// appendAddrProc appends a as the kernel's %pI4 and %pI6 print it: IPv6 in
// full, eight groups of four lower-case hex digits.
func appendAddrProc(b []byte, a netip.Addr) []byte {
	if a.Is4() {
		return a.AppendTo(b)
	}
	const hex = "0123456789abcdef"
	x := a.As16()
	for i := 0; i < 16; i += 2 {
		if i > 0 {
			b = append(b, ':')
		}
		b = append(b, hex[x[i]>>4], hex[x[i]&15], hex[x[i+1]>>4], hex[x[i+1]&15])
	}
	return b
}

// WriteProc writes the whole table as /proc/net/nf_conntrack reads, with
// the options its settings give, at time now (the table clock). It copies
// one shard at a time (Table.Range), so entries that come or go meanwhile
// may or may not be listed, as with the kernel's file.
func WriteProc(w io.Writer, t *conntrack.Table, now int64) error {
	o := ProcOptionsFor(t.Settings())
	var b []byte
	var err error
	t.Range(func(e *conntrack.Entry) bool {
		b = AppendProc(b[:0], e, now, o)
		_, err = w.Write(b)
		return err == nil
	})
	return err
}
