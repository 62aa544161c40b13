package ctfmt

import (
	"net/netip"
	"strconv"
	"time"

	"github.com/hare-fw/hare/conntrack"
	"github.com/hare-fw/hare/packet"
)

// Options select the optional parts of a line, as conntrack's -o options
// do, and say which extensions the entries carry. The zero value prints
// the plain `conntrack -L` format of entries without counters or times.
type Options struct {
	Extended   bool // -o extended: start with the family name and number ("ipv4     2 ")
	ID         bool // -o id: end with id=N
	KTimestamp bool // -o ktimestamp: [start=...], and [stop=...] for a destroyed entry
	Timestamp  bool // -o timestamp (events only): start with "[seconds.microseconds]\t"

	// Acct and Stamps say whether the entries carry counters and start/stop
	// times: the settings acct and timestamp (Linux nf_conntrack_acct and
	// nf_conntrack_timestamp). Without them conntrack prints no packets=,
	// bytes= or delta-time=.
	Acct, Stamps bool

	// Location is the time zone of [start=...] and [stop=...]; nil means
	// time.Local, as ctime(3) uses.
	Location *time.Location
}

// fields says which attributes a line has: which ones the kernel sends
// in a dump or in an event (ctnetlink_fill_info, ctnetlink_conntrack_event).
type fields struct {
	timeout   bool
	left      int64 // seconds left, when timeout
	protoinfo bool
	counters  bool
	mark      bool
	stamps    bool
	use       bool
	now       int64 // the time a running entry's delta-time is measured to
}

// AppendEntry appends e as `conntrack -L` prints it, without a newline;
// now is the table clock (ns) at the time of the listing, which gives the
// seconds left (timeout: rounded down, as the kernel's nf_ct_expires()/HZ)
// and delta-time.
func AppendEntry(b []byte, e *conntrack.Entry, now int64, o Options) []byte {
	f := fields{
		timeout:   true,
		left:      secondsLeft(e.Deadline, now),
		protoinfo: hasProtoInfo(e),
		counters:  o.Acct,
		mark:      true,
		stamps:    o.Stamps,
		use:       true,
		now:       now,
	}
	return appendLine(b, e, &f, &o)
}

// AppendEvent appends ev as `conntrack -E` prints it, without a newline.
// The attributes follow what Linux 6.18's ctnetlink_conntrack_event puts in
// an event: NEW and UPDATE carry the timeout, the protocol state only when it
// changed (IPCT_PROTOINFO), the mark only when set; DESTROY carries the
// counters, the start and stop times, the protocol state and the timeout
// left unless 0.
func AppendEvent(b []byte, ev *conntrack.Event, o Options) []byte {
	e := &ev.Entry
	if o.Timestamp {
		b = append(b, '[')
		b = appendPadded(b, ev.Time/int64(time.Second), 8)
		b = append(b, '.')
		b = appendPadded(b, ev.Time%int64(time.Second)/int64(time.Microsecond), 6)
		b = append(b, "]\t"...)
	}
	var f fields
	f.left = secondsLeft(e.Deadline, ev.Time)
	f.mark = e.Mark != 0 || ev.Mask&conntrack.EventMark != 0
	f.now = ev.Time
	switch ev.Type {
	case conntrack.EventTypeNew:
		b = append(b, "    [NEW] "...)
	case conntrack.EventTypeUpdate:
		b = append(b, " [UPDATE] "...)
	default:
		b = append(b, "[DESTROY] "...)
	}
	if ev.Type == conntrack.EventTypeDestroy {
		f.timeout = f.left > 0
		f.protoinfo = hasProtoInfo(e)
		f.counters = o.Acct
		f.stamps = o.Stamps
	} else {
		f.timeout = true
		f.protoinfo = ev.Mask&conntrack.EventProtoInfo != 0 && hasProtoInfo(e)
	}
	return appendLine(b, e, &f, &o)
}

func appendLine(b []byte, e *conntrack.Entry, f *fields, o *Options) []byte {
	if o.Extended {
		b = appendPadName(b, FamilyName(e.Orig.Family), int(familyNumber(e.Orig.Family)))
	}
	b = appendPadName(b, ProtoName(e.Orig.Proto), int(e.Orig.Proto))
	if f.timeout {
		b = strconv.AppendInt(b, f.left, 10)
		b = append(b, ' ')
	}
	if f.protoinfo {
		b = append(b, StateName(e)...)
		b = append(b, ' ')
	}
	b = appendTuples(b, e, f.counters, AppendAddr)
	if f.mark {
		b = append(b, "mark="...)
		b = strconv.AppendUint(b, uint64(e.Mark), 10)
		b = append(b, ' ')
	}
	if z := e.Zone(); z != 0 {
		b = append(b, "zone="...)
		b = strconv.AppendUint(b, uint64(z), 10)
		b = append(b, ' ')
	}
	if f.stamps {
		end := f.now
		if e.Stop != 0 {
			end = e.Stop
		}
		// libnetfilter_conntrack subtracts whole seconds.
		b = append(b, "delta-time="...)
		b = strconv.AppendInt(b, max(end/int64(time.Second)-e.Start/int64(time.Second), 0), 10)
		b = append(b, ' ')
		if o.KTimestamp {
			b = appendCtime(b, "[start=", e.Start, o.Location)
			if e.Stop != 0 {
				b = appendCtime(b, "[stop=", e.Stop, o.Location)
			}
		}
	}
	if f.use {
		b = append(b, "use=1 "...)
	}
	if o.ID {
		b = append(b, "id="...)
		b = strconv.AppendUint(b, uint64(e.ID), 10)
		b = append(b, ' ')
	}
	return b[:len(b)-1] // the last blank
}

// secondsLeft is the kernel's nf_ct_expires(ct) / HZ: never negative,
// rounded down.
func secondsLeft(deadline, now int64) int64 {
	return max(deadline-now, 0) / int64(time.Second)
}

// hasProtoInfo reports whether the kernel sends a protocol state for e:
// TCP always, SCTP once hare's SCTP tracker has given it one. (Linux 6.16
// removed the DCCP tracker, so DCCP has none.)
func hasProtoInfo(e *conntrack.Entry) bool {
	switch e.Orig.Proto {
	case packet.ProtoTCP:
		return true
	case packet.ProtoSCTP:
		return e.SCTPState != 0
	}
	return false
}

// StateName returns the protocol state conntrack prints for e (TCP or
// SCTP), or "".
func StateName(e *conntrack.Entry) string {
	switch e.Orig.Proto {
	case packet.ProtoTCP:
		if s := e.TCPState.String(); s != "UNKNOWN" {
			return s
		}
		return "NONE" // libnetfilter_conntrack's fallback for an unknown state
	case packet.ProtoSCTP:
		if e.SCTPState != conntrack.SCTPNone {
			if s := e.SCTPState.String(); s != "UNKNOWN" {
				return s
			}
		}
	}
	return ""
}

// FamilyName returns "ipv4" or "ipv6" for a tuple's family (4 or 6).
func FamilyName(f uint8) string {
	switch f {
	case 4:
		return "ipv4"
	case 6:
		return "ipv6"
	}
	return "unknown"
}

// familyNumber is the AF_ number conntrack prints beside the family.
func familyNumber(f uint8) uint8 {
	switch f {
	case 4:
		return 2 // AF_INET
	case 6:
		return 10 // AF_INET6
	}
	return 0
}

// ProtoName returns the layer-4 protocol's name as conntrack-tools prints
// it: one of the protocols the kernel has a tracker for (or had: dccp),
// else "unknown".
func ProtoName(p packet.IPProto) string {
	switch p {
	case packet.ProtoTCP:
		return "tcp"
	case packet.ProtoUDP:
		return "udp"
	case packet.ProtoUDPLite:
		return "udplite"
	case packet.ProtoICMP:
		return "icmp"
	case packet.ProtoICMPv6:
		return "icmpv6"
	case packet.ProtoSCTP:
		return "sctp"
	case packet.ProtoGRE:
		return "gre"
	case packet.ProtoDCCP:
		return "dccp"
	}
	return "unknown"
}

// appendPadName appends "%-8s %u ".
func appendPadName(b []byte, name string, n int) []byte {
	b = append(b, name...)
	for i := len(name); i < 8; i++ {
		b = append(b, ' ')
	}
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(n), 10)
	return append(b, ' ')
}

// appendTuples appends the middle of a conntrack line, the same in
// conntrack -L, -E and /proc/net/nf_conntrack (ct_seq_show prints what
// libnetfilter_conntrack's __snprintf_conntrack_default prints): both
// tuples, each with its counters when counters is set, [UNREPLIED] between
// them until a reply was seen and [ASSURED] after them.
func appendTuples(b []byte, e *conntrack.Entry, counters bool, addr func([]byte, netip.Addr) []byte) []byte {
	b = appendTuple(b, &e.Orig, addr)
	if counters {
		b = appendCounters(b, &e.Counters[conntrack.DirOriginal])
	}
	if !e.Status.Has(conntrack.StatusSeenReply) {
		b = append(b, "[UNREPLIED] "...)
	}
	b = appendTuple(b, &e.Reply, addr)
	if counters {
		b = appendCounters(b, &e.Counters[conntrack.DirReply])
	}
	if e.Status.Has(conntrack.StatusAssured) {
		b = append(b, "[ASSURED] "...)
	}
	return b
}

// appendTuple appends a tuple's addresses, printed by addr, and protocol
// fields (libnetfilter_conntrack __snprintf_address and __snprintf_proto;
// the kernel's print_tuple has the same fields).
func appendTuple(b []byte, t *conntrack.Tuple, addr func([]byte, netip.Addr) []byte) []byte {
	b = append(b, "src="...)
	b = addr(b, t.SrcAddr())
	b = append(b, " dst="...)
	b = addr(b, t.DstAddr())
	b = append(b, ' ')
	switch t.Proto {
	case packet.ProtoTCP, packet.ProtoUDP, packet.ProtoUDPLite, packet.ProtoSCTP: // DCCP is generic: no ports
		b = append(b, "sport="...)
		b = strconv.AppendUint(b, uint64(t.SrcPort), 10)
		b = append(b, " dport="...)
		b = strconv.AppendUint(b, uint64(t.DstPort), 10)
		b = append(b, ' ')
	case packet.ProtoGRE:
		b = append(b, "srckey=0x"...)
		b = strconv.AppendUint(b, uint64(t.SrcPort), 16)
		b = append(b, " dstkey=0x"...)
		b = strconv.AppendUint(b, uint64(t.DstPort), 16)
		b = append(b, ' ')
	case packet.ProtoICMP, packet.ProtoICMPv6:
		b = append(b, "type="...)
		b = strconv.AppendUint(b, uint64(t.ICMPType()), 10)
		b = append(b, " code="...)
		b = strconv.AppendUint(b, uint64(t.ICMPCode()), 10)
		b = append(b, " id="...)
		b = strconv.AppendUint(b, uint64(t.SrcPort), 10)
		b = append(b, ' ')
	}
	return b
}

func appendCounters(b []byte, c *conntrack.Counters) []byte {
	b = append(b, "packets="...)
	b = strconv.AppendUint(b, c.Packets, 10)
	b = append(b, " bytes="...)
	b = strconv.AppendUint(b, c.Bytes, 10)
	return append(b, ' ')
}

// AppendAddr appends a as inet_ntoa(3) or glibc's inet_ntop(3) print it.
// Those agree with netip.Addr.String (RFC 5952) except for the deprecated
// IPv4-compatible addresses (::a.b.c.d, 96 zero bits then a non-zero
// second-last group), which glibc prints with a dotted quad.
func AppendAddr(b []byte, a netip.Addr) []byte {
	if a.Is6() && !a.Is4In6() {
		x := a.As16()
		zero := true
		for _, c := range x[:12] {
			zero = zero && c == 0
		}
		if zero && (x[12] != 0 || x[13] != 0) {
			b = append(b, "::"...)
			return netip.AddrFrom4([4]byte(x[12:])).AppendTo(b)
		}
	}
	return a.AppendTo(b)
}

// appendPadded appends n with at least width digits (printf's "%.Nld").
func appendPadded(b []byte, n int64, width int) []byte {
	if n < 0 {
		b = append(b, '-')
		n = -n
	}
	var tmp [20]byte
	d := strconv.AppendInt(tmp[:0], n, 10)
	for i := len(d); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, d...)
}

// appendCtime appends prefix, ctime(3) of ns without its newline, "] ".
func appendCtime(b []byte, prefix string, ns int64, loc *time.Location) []byte {
	if loc == nil {
		loc = time.Local
	}
	b = append(b, prefix...)
	b = time.Unix(ns/int64(time.Second), 0).In(loc).AppendFormat(b, "Mon Jan _2 15:04:05 2006")
	return append(b, "] "...)
}
