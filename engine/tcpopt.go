package engine

import "github.com/hare-fw/hare/packet"

// TCP options (nft_exthdr with NFT_EXTHDR_OP_TCPOPT): `tcp option maxseg
// exists`, `tcp option maxseg size 1460`. Names and layouts are nft
// 1.0.6's (src/tcpopt.c): kind, length, then the option's fields.

type tcpOptField struct {
	name     string
	off, len uint8
}

var tcpOpts = []struct {
	name   string
	kind   uint8
	fields []tcpOptField
}{
	{"eol", 0, nil},
	{"nop", 1, nil},
	{"maxseg", 2, []tcpOptField{{"length", 1, 1}, {"size", 2, 2}}},
	{"window", 3, []tcpOptField{{"length", 1, 1}, {"count", 2, 1}}},
	{"sack-perm", 4, []tcpOptField{{"length", 1, 1}}},
	{"sack", 5, []tcpOptField{{"length", 1, 1}, {"left", 2, 4}, {"right", 6, 4}}},
	{"sack0", 5, []tcpOptField{{"length", 1, 1}, {"left", 2, 4}, {"right", 6, 4}}},
	{"sack1", 5, []tcpOptField{{"length", 1, 1}, {"left", 10, 4}, {"right", 14, 4}}},
	{"sack2", 5, []tcpOptField{{"length", 1, 1}, {"left", 18, 4}, {"right", 22, 4}}},
	{"sack3", 5, []tcpOptField{{"length", 1, 1}, {"left", 26, 4}, {"right", 30, 4}}},
	{"timestamp", 8, []tcpOptField{{"length", 1, 1}, {"tsval", 2, 4}, {"tsecr", 6, 4}}},
	{"md5sig", 19, []tcpOptField{{"length", 1, 1}}},
	{"mptcp", 30, []tcpOptField{{"length", 1, 1}}},
	{"fastopen", 34, []tcpOptField{{"length", 1, 1}}},
}

// tcpOptSelectors are the selector words of the options and their fields.
func tcpOptSelectors() map[string]selector {
	m := map[string]selector{}
	for _, o := range tcpOpts {
		base := "tcp option " + o.name
		m[base] = selector{fTCPOptPresent, tPresence, uint32(o.kind)}
		fs := append([]tcpOptField{{"kind", 0, 1}}, o.fields...)
		for _, f := range fs {
			t := tU8
			switch f.len {
			case 2:
				t = tU16
			case 4:
				t = tU32
			}
			m[base+" "+f.name] = selector{fTCPOptField, t, uint32(o.kind) | uint32(f.off)<<8 | uint32(f.len)<<16}
		}
	}
	return m
}

// tcpOption finds option kind in p's TCP header as nft_exthdr_tcp_eval
// does: the first option of that kind, walking by each option's length
// (a kind of EOL or NOP, or a length of 0, advances one byte: the scan goes
// on past EOL), and checks that the option, as long as its length says,
// lies in the header and holds need bytes. ok is false when the header
// cannot be read (nft_tcp_header_pointer: data offset below 20 or past
// the captured bytes) or the option is absent or too short.
func tcpOption(p *packet.Parsed, kind uint8, need int) (opt []byte, ok bool) {
	if proto, ok := nftTransport(p); !ok || proto != packet.ProtoTCP {
		return nil, false
	}
	th := p.Transport()
	if len(th) < 20 {
		return nil, false
	}
	hl := int(th[12]>>4) * 4
	if hl < 20 || hl > len(th) {
		return nil, false
	}
	for i := 20; i < hl-1; {
		optl := 1
		if th[i] > 1 && th[i+1] != 0 {
			optl = int(th[i+1])
		}
		if th[i] == kind {
			if i+optl > hl || need > optl {
				return nil, false
			}
			return th[i : i+optl], true
		}
		i += optl
	}
	return nil, false
}
