package conntrack

import "github.com/hare-fw/hare/packet"

// nrICMPTypes is Linux's NR_ICMP_TYPES: higher ICMPv4 types are invalid.
const nrICMPTypes = 18

// icmpNew mirrors the valid_new checks of nf_conntrack_proto_icmp.c and
// nf_conntrack_proto_icmpv6.c: only queries may open an entry (K-13); an
// unsolicited reply or other informational type is invalid (K-16).
func icmpNew(k *Tuple) Reason {
	typ := k.ICMPType()
	if k.Proto == packet.ProtoICMP {
		switch typ {
		case 8, 13, 15, 17: // echo, timestamp, information, address mask requests
			return ReasonNone
		}
		return ReasonICMPInvalidNew
	}
	switch typ {
	case 128, 139: // echo request, node information query
		return ReasonNone
	}
	return ReasonICMPInvalidNew
}

// isNDorMLD reports whether an ICMPv6 type is Neighbour Discovery or MLD,
// which Linux marks untracked (noct_valid_new: 130-136 and 143; K-14).
func isNDorMLD(typ uint8) bool {
	return typ >= 130 && typ <= 136 || typ == 143
}

// isICMPv4Error is Linux icmp_is_err.
func isICMPv4Error(typ uint8) bool {
	switch typ {
	case 3, 4, 5, 11, 12:
		return true
	}
	return false
}

// icmpError mirrors nf_conntrack_icmpv4_error, nf_conntrack_icmpv6_error
// and nf_conntrack_inet_error. It reports whether it decided the packet:
// ND/MLD (untracked), malformed or bad-checksum messages (invalid), and
// errors, which are RELATED to the connection they quote or invalid. Queries
// and replies are left to the normal path.
func (t *Table) icmpError(p *packet.Parsed, s *Settings, csumBad bool, zone uint16, now int64, res *Result) bool {
	if !p.HasTransport() || p.L4Len < 8 {
		t.invalid(res, ReasonICMPTruncated)
		return true
	}
	typ := p.ICMP.Type
	if p.Proto == packet.ProtoICMPv6 {
		// Linux 6.18 verifies the checksum before anything else, for
		// every type: the kernel reference calls an echo request with a
		// bad checksum invalid ("ICMPv6 checksum failed",
		// ipv6_routing-type0_icmp6-and-udp packets 1-2).
		if csumBad {
			t.invalid(res, ReasonBadChecksum)
			return true
		}
		if isNDorMLD(typ) {
			res.State = StateUntracked
			t.countUntracked()
			return true
		}
		if typ >= 128 && typ != 137 {
			return false
		}
		if typ == 137 {
			return t.icmpv6Redirect(p, zone, now, res)
		}
	} else {
		if csumBad {
			t.invalid(res, ReasonBadChecksum)
			return true
		}
		if typ > nrICMPTypes {
			t.invalid(res, ReasonICMPBadType)
			return true
		}
		if !isICMPv4Error(typ) {
			return false
		}
	}
	t.related(p, zone, now, res)
	return true
}

// icmpv6Redirect mirrors nf_conntrack_icmpv6_redirect (K-15): a redirect
// with code 0 must come from a link-local source with hop limit 255, and is
// matched like an error when its first option is a Redirected Header.
func (t *Table) icmpv6Redirect(p *packet.Parsed, zone uint16, now int64, res *Result) bool {
	if p.ICMP.Code != 0 {
		return false // goes on to the normal path, where it cannot be inverted: invalid
	}
	if p.HopLimit != 255 || !p.Src.IsLinkLocalUnicast() {
		t.invalid(res, ReasonICMPRedirect)
		return true
	}
	// Linux reads only the first option: it must be the Redirected Header.
	if p.Quote.IPVersion == 0 || p.Quote.Off != p.L4Off+ndRedirectFirstOpt+8 {
		return false
	}
	t.related(p, zone, now, res)
	return true
}

// ndRedirectFirstOpt is where a Redirect's options start (RFC 4861 §4.5).
const ndRedirectFirstOpt = 40

// related looks up the connection an ICMP error quotes (nf_conntrack_inet_error):
// the quoted packet's tuple, inverted, must be a connection's tuple, and the
// error's outer destination must be that direction's source (K-12).
func (t *Table) related(p *packet.Parsed, zone uint16, now int64, res *Result) {
	var inner Tuple
	if !inner.fromQuote(&p.Quote, zone) {
		t.invalid(res, ReasonICMPNoTuple)
		return
	}
	k, ok := inner.invert()
	if !ok {
		t.invalid(res, ReasonICMPNoTuple)
		return
	}
	sh := t.shardOf(&k)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	i, dir, found := t.lookup(sh, &k)
	if !found || sh.at(i).deadline <= now {
		sh.stats.Error++
		sh.stats.Invalid++
		res.State, res.Reason = StateInvalid, ReasonICMPNoMatch
		return
	}
	e := sh.at(i)
	if e.tuple[DirOriginal] == k {
		dir = DirOriginal
	}
	var outer [16]byte
	if p.IPVersion == 4 {
		a := p.Dst.As4()
		copy(outer[:], a[:])
	} else {
		outer = p.Dst.As16()
	}
	if outer != e.tuple[dir].Dst {
		sh.stats.Invalid++
		res.State, res.Reason = StateInvalid, ReasonICMPOuterDst
		return
	}
	sh.stats.Related++
	res.State, res.Dir, res.Ref, res.ID = StateRelated, dir, ref(sh, i), e.id
}

func (t *Table) countUntracked() { t.untrackedN.Add(1) }
