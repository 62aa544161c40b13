package engine

import (
	"encoding/binary"

	"github.com/hare-fw/hare/conntrack"
)

// Conntrack keys (nft_ct_get_eval). A packet without a conntrack entry
// (invalid, untracked) breaks the rule, whatever the operator. A packet
// that opens a connection already has its unconfirmed entry attached in
// Linux (nf_conntrack_in), with both tuples and the opening packet counted
// (nf_ct_refresh_acct), so its pending entry is read.

// ctEntry loads the packet's entry into r.entry, once per packet.
func (cx *evalCtx) ctEntry() (*conntrack.Entry, bool) {
	switch cx.entryOK {
	case 1:
		return &cx.r.entry, true
	case -1:
		return nil, false
	}
	if !cx.tracked || cx.untracked {
		// Before conntrack (a raw chain): nothing yet, and nothing
		// cached, as the entry comes later for the same packet.
		return nil, false
	}
	cx.entryOK = -1
	r := cx.r
	switch r.CT.State {
	case conntrack.StateInvalid, conntrack.StateUntracked:
		return nil, false
	}
	if !r.CT.Pending(&r.entry) && !cx.e.ct.Get(r.CT.Ref, &r.entry) {
		return nil, false
	}
	cx.entryOK = 1
	return &r.entry, true
}

func (cx *evalCtx) loadCt(f field, arg uint32) (u128, bool) {
	e, ok := cx.ctEntry()
	if !ok {
		return u128{}, false
	}
	t := &e.Orig
	if arg == ctReply {
		t = &e.Reply
	}
	switch f {
	case fCtDirection:
		return u128{lo: uint64(cx.r.CT.Dir)}, true
	case fCtMark:
		return u128{lo: uint64(e.Mark)}, true
	case fCtZone:
		return u128{lo: uint64(e.Orig.Zone)}, true
	case fCtL3proto:
		if t.Family == 4 {
			return u128{lo: 2}, true
		}
		return u128{lo: 10}, true
	case fCtProtocol:
		return u128{lo: uint64(t.Proto)}, true
	case fCtHelper:
		// No helper is ever assigned (the oracle's namespace has
		// nf_conntrack_helper=0 and no `ct helper set`): NFT_BREAK.
		return u128{}, false
	case fCtSaddr4, fCtDaddr4:
		// NFT_CT_SRC_IP / NFT_CT_DST_IP: only an IPv4 entry.
		if t.Family != 4 {
			return u128{}, false
		}
		a := &t.Src
		if f == fCtDaddr4 {
			a = &t.Dst
		}
		return u128{lo: uint64(binary.BigEndian.Uint32(a[:4]))}, true
	case fCtSaddr6, fCtDaddr6:
		if t.Family != 6 {
			return u128{}, false
		}
		a := &t.Src
		if f == fCtDaddr6 {
			a = &t.Dst
		}
		return u128{hi: binary.BigEndian.Uint64(a[:8]), lo: binary.BigEndian.Uint64(a[8:])}, true
	case fCtProtoSrc:
		return u128{lo: uint64(t.SrcPort)}, true
	case fCtProtoDst:
		return u128{lo: uint64(t.DstPort)}, true
	}
	// Counters (nft_ct_get_eval_counter): one direction, or the sum.
	var c conntrack.Counters
	switch arg {
	case ctOriginal, ctReply:
		c = e.Counters[arg]
	default:
		c = conntrack.Counters{Packets: e.Counters[0].Packets + e.Counters[1].Packets, Bytes: e.Counters[0].Bytes + e.Counters[1].Bytes}
	}
	switch f {
	case fCtPackets:
		return u128{lo: c.Packets}, true
	case fCtBytes:
		return u128{lo: c.Bytes}, true
	}
	if c.Packets == 0 {
		return u128{}, true
	}
	return u128{lo: c.Bytes / c.Packets}, true
}
