package ctfmt

import (
	"fmt"

	"github.com/hare-fw/hare/conntrack"
	"github.com/hare-fw/hare/packet"
)

// Entry is one connection as JSON, with the keys of the kernel oracle's
// table.jsonl (and of ct_after in its packets.jsonl), so the two can be
// compared key by key. Keys whose attribute the kernel would not send are
// left out (see AppendEvent); in a listing every key is present.
//
//	{"family": "ipv4", "proto": "tcp",
//	 "orig":  {"src": "10.0.0.1", "dst": "10.0.0.2", "proto": 6, "sport": 40000, "dport": 80},
//	 "reply": {"src": "10.0.0.2", "dst": "10.0.0.1", "proto": 6, "sport": 80, "dport": 40000},
//	 "id": 7, "status": ["SEEN_REPLY", "ASSURED", "CONFIRMED"], "timeout": 119, "mark": 0,
//	 "state": "TIME_WAIT", "wscale_orig": 7, "wscale_reply": 7,
//	 "tcpflags_orig": ["WINDOW_SCALE", "SACK_PERM"], "tcpflags_reply": ["MAXACK_SET"],
//	 "counters_orig": {"packets": 6, "bytes": 352}, "counters_reply": {"packets": 4, "bytes": 472},
//	 "start_ns": 1700000000000000000}
//
// ICMP tuples have "type", "code" and "icmp_id" instead of ports; GRE tuples
// have the keys as "sport" and "dport"; other protocols neither. "zone"
// appears when not 0, "labels" (32 hex digits) when any is set, "stop_ns"
// once the entry is destroyed. "proto" names the protocol as conntrack
// does, or by its /etc/protocols name when conntrack says "unknown".
type Entry struct {
	Family        string    `json:"family"`
	Proto         string    `json:"proto"`
	Orig          Tuple     `json:"orig"`
	Reply         Tuple     `json:"reply"`
	ID            uint32    `json:"id"`
	Status        []string  `json:"status"`
	Timeout       *int64    `json:"timeout,omitempty"`
	Mark          *uint32   `json:"mark,omitempty"`
	Zone          uint16    `json:"zone,omitempty"`
	State         string    `json:"state,omitempty"`
	WScaleOrig    *uint8    `json:"wscale_orig,omitempty"`
	WScaleReply   *uint8    `json:"wscale_reply,omitempty"`
	TCPFlagsOrig  *[]string `json:"tcpflags_orig,omitempty"`
	TCPFlagsReply *[]string `json:"tcpflags_reply,omitempty"`
	CountersOrig  *Counters `json:"counters_orig,omitempty"`
	CountersReply *Counters `json:"counters_reply,omitempty"`
	StartNS       int64     `json:"start_ns,omitempty"`
	StopNS        int64     `json:"stop_ns,omitempty"`
	Labels        string    `json:"labels,omitempty"`
}

// Tuple is one direction's tuple in Entry.
type Tuple struct {
	Src    string  `json:"src"`
	Dst    string  `json:"dst"`
	Proto  uint8   `json:"proto"`
	SPort  *uint16 `json:"sport,omitempty"`
	DPort  *uint16 `json:"dport,omitempty"`
	Type   *uint8  `json:"type,omitempty"`
	Code   *uint8  `json:"code,omitempty"`
	ICMPID *uint16 `json:"icmp_id,omitempty"`
}

// Counters are one direction's packets and layer-3 bytes.
type Counters struct {
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
}

// Event is one event as JSON, with the keys of the kernel oracle's
// events.jsonl: "packet" is the number (1-based) of the packet that caused
// it, null for one that came from expiry between packets; "t_ns" is the
// table clock.
type Event struct {
	Event  string  `json:"event"`
	Packet *uint64 `json:"packet"`
	TimeNS int64   `json:"t_ns"`
	CT     Entry   `json:"ct"`
}

// EntryJSON returns e as conntrack -L would show it at time now (the
// table clock, ns), with every key.
func EntryJSON(e *conntrack.Entry, now int64, o Options) Entry {
	f := fields{timeout: true, left: secondsLeft(e.Deadline, now), protoinfo: hasProtoInfo(e), counters: o.Acct, mark: true, stamps: o.Stamps}
	j := entryJSON(e, &f)
	if e.Orig.Proto == packet.ProtoTCP {
		j.tcpDetails(e)
	}
	return j
}

// EventJSON returns ev with the attributes the kernel sends in such an
// event (see AppendEvent). packet is the number of the packet that caused
// it, 0 for none.
func EventJSON(ev *conntrack.Event, pkt uint64, o Options) Event {
	e := &ev.Entry
	f := fields{left: secondsLeft(e.Deadline, ev.Time), mark: e.Mark != 0 || ev.Mask&conntrack.EventMark != 0}
	if ev.Type == conntrack.EventTypeDestroy {
		f.timeout, f.protoinfo, f.counters, f.stamps = f.left > 0, hasProtoInfo(e), o.Acct, o.Stamps
	} else {
		f.timeout = true
		f.protoinfo = ev.Mask&conntrack.EventProtoInfo != 0 && hasProtoInfo(e)
	}
	j := Event{Event: ev.Type.String(), TimeNS: ev.Time, CT: entryJSON(e, &f)}
	if pkt != 0 {
		j.Packet = &pkt
	}
	if f.protoinfo && e.Orig.Proto == packet.ProtoTCP && ev.Type != conntrack.EventTypeDestroy {
		j.CT.tcpDetails(e) // a destroy event carries the state alone (tcp_to_nlattr)
	}
	return j
}

func entryJSON(e *conntrack.Entry, f *fields) Entry {
	j := Entry{
		Family: FamilyName(e.Orig.Family),
		Proto:  ProtoName(e.Orig.Proto),
		Orig:   tupleJSON(&e.Orig),
		Reply:  tupleJSON(&e.Reply),
		ID:     e.ID,
		Status: StatusNames(e.Status),
		Zone:   e.Zone(),
	}
	if j.Proto == "unknown" {
		j.Proto = e.Orig.Proto.String()
	}
	if f.timeout {
		j.Timeout = &f.left
	}
	if f.mark {
		m := e.Mark
		j.Mark = &m
	}
	if f.protoinfo {
		j.State = StateName(e)
	}
	if f.counters {
		j.CountersOrig = &Counters{e.Counters[0].Packets, e.Counters[0].Bytes}
		j.CountersReply = &Counters{e.Counters[1].Packets, e.Counters[1].Bytes}
	}
	if f.stamps {
		j.StartNS, j.StopNS = e.Start, e.Stop
	}
	if e.Labels != [2]uint64{} {
		j.Labels = fmt.Sprintf("%016x%016x", e.Labels[1], e.Labels[0])
	}
	return j
}

// tcpDetails adds the window scales and TCP flags (tcp_to_nlattr).
func (j *Entry) tcpDetails(e *conntrack.Entry) {
	ws0, ws1 := e.TCPWScale[0], e.TCPWScale[1]
	f0, f1 := TCPFlagNames(e.TCPFlags[0]), TCPFlagNames(e.TCPFlags[1])
	j.WScaleOrig, j.WScaleReply = &ws0, &ws1
	j.TCPFlagsOrig, j.TCPFlagsReply = &f0, &f1
}

func tupleJSON(t *conntrack.Tuple) Tuple {
	j := Tuple{Src: t.SrcAddr().String(), Dst: t.DstAddr().String(), Proto: uint8(t.Proto)}
	switch t.Proto {
	case packet.ProtoTCP, packet.ProtoUDP, packet.ProtoUDPLite, packet.ProtoSCTP, packet.ProtoGRE:
		// Not DCCP: Linux 6.16+ tracks it generically, and ctnetlink
		// then sends no port attributes.
		s, d := t.SrcPort, t.DstPort
		j.SPort, j.DPort = &s, &d
	case packet.ProtoICMP, packet.ProtoICMPv6:
		typ, code, id := t.ICMPType(), t.ICMPCode(), t.SrcPort
		j.Type, j.Code, j.ICMPID = &typ, &code, &id
	}
	return j
}

// StatusNames lists the set status bits by their Linux names, lowest bit
// first (as the oracle's "status" lists them); never nil.
func StatusNames(s conntrack.Status) []string {
	out := []string{}
	for i := 0; i < 16; i++ {
		if b := conntrack.Status(1) << i; s&b != 0 {
			out = append(out, b.String())
		}
	}
	return out
}

// tcpFlagNames are Linux's IP_CT_TCP_FLAG_* bits, lowest first, as the
// oracle names them.
var tcpFlagNames = [8]string{
	"WINDOW_SCALE", "SACK_PERM", "CLOSE_INIT", "BE_LIBERAL",
	"DATA_UNACKNOWLEDGED", "MAXACK_SET", "CHALLENGE_ACK", "SIMULTANEOUS_OPEN",
}

// TCPFlagNames lists the set IP_CT_TCP_FLAG_* bits of one direction; never
// nil.
func TCPFlagNames(f uint8) []string {
	out := []string{}
	for i, n := range tcpFlagNames {
		if f&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return out
}
