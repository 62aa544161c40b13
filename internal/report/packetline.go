package report

import (
	"strconv"
	"time"
)

// StateText is the packet's ct state (new, established, related, invalid,
// untracked), or, for a packet conntrack did not see, its outcome (not-ip,
// excluded, held, frag-dropped).
func (r *PacketResult) StateText() string {
	if r.Outcome == OutcomeTracked {
		return r.State.String()
	}
	return r.Outcome.String()
}

// AppendText appends the packet's line of `hare replay --packets`, without
// a newline: number, capture time (seconds, 9 decimals), ct state,
// direction, entry id, and the reason for an invalid or ignored packet;
// "-" stands for a missing direction or id.
//
//	1 1599865259.118651900 new original 1
//	2 1599865259.118960900 invalid - - invalid tcp flag combination
func (r *PacketResult) AppendText(b []byte) []byte {
	b = strconv.AppendUint(b, r.N, 10)
	b = append(b, ' ')
	b = appendSeconds(b, r.Time)
	b = append(b, ' ')
	b = append(b, r.StateText()...)
	if r.HasDir() {
		b = append(b, ' ')
		b = append(b, r.Dir.String()...)
		b = append(b, ' ')
		b = strconv.AppendUint(b, uint64(r.ID), 10)
	} else {
		b = append(b, " - -"...)
	}
	if s := r.ReasonText(); s != "" {
		b = append(b, ' ')
		b = append(b, s...)
	}
	return b
}

// AppendJSON appends the packet as one JSON object, without a newline:
//
//	{"n": 1, "ts": 1599865259.118651900, "state": "new", "dir": "original", "id": 1, "l3len": 40, "new": true}
//
// "state" is as in AppendText; "dir" and "id" are present for packets of
// an entry, "reason" for invalid or ignored ones and dropped fragments,
// "l3len" (the bytes conntrack saw) for tracked ones, "reassembled" when
// the packet completed a datagram (l3len is then the datagram's), "new"
// when the packet opened its entry, "drop" when the table was full.
func (r *PacketResult) AppendJSON(b []byte) []byte {
	b = append(b, `{"n":`...)
	b = strconv.AppendUint(b, r.N, 10)
	b = append(b, `,"ts":`...)
	b = appendSeconds(b, r.Time)
	b = append(b, `,"state":"`...)
	b = append(b, r.StateText()...)
	b = append(b, '"')
	if r.HasDir() {
		b = append(b, `,"dir":"`...)
		b = append(b, r.Dir.String()...)
		b = append(b, `","id":`...)
		b = strconv.AppendUint(b, uint64(r.ID), 10)
	}
	if s := r.ReasonText(); s != "" {
		b = append(b, `,"reason":`...)
		b = strconv.AppendQuote(b, s)
	}
	if r.Outcome == OutcomeTracked {
		b = append(b, `,"l3len":`...)
		b = strconv.AppendInt(b, int64(r.L3Len), 10)
	}
	if r.Reassembled {
		b = append(b, `,"reassembled":true`...)
	}
	if r.New {
		b = append(b, `,"new":true`...)
	}
	if r.Drop {
		b = append(b, `,"drop":true`...)
	}
	return append(b, '}')
}

// appendSeconds appends ns since the epoch as seconds with 9 decimals.
func appendSeconds(b []byte, ns int64) []byte {
	if ns < 0 {
		b = append(b, '-')
		ns = -ns
	}
	b = strconv.AppendInt(b, ns/int64(time.Second), 10)
	b = append(b, '.')
	frac := ns % int64(time.Second)
	for d := int64(100000000); d > 1 && frac < d; d /= 10 {
		b = append(b, '0')
	}
	return strconv.AppendInt(b, frac, 10)
}
