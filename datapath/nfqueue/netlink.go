package nfqueue

import (
	"encoding/binary"

	"github.com/hare-fw/hare/datapath"
)

// The nfnetlink_queue wire format (include/uapi/linux/netfilter/
// nfnetlink_queue.h, nfnetlink.h, linux/netlink.h). go-nfqueue's own
// types for these are unexported, and its receive path allocates per
// packet (see port.go), so the hot path speaks the protocol itself.
const (
	nlmsgHdrLen = 16 // struct nlmsghdr
	nfgenLen    = 4  // struct nfgenmsg
	nlaHdrLen   = 4  // struct nlattr

	nlmsgError  = 2 // NLMSG_ERROR
	nlmFRequest = 1

	nfnlSubsysQueue = 3 // NFNL_SUBSYS_QUEUE

	msgPacket       = nfnlSubsysQueue << 8   // NFQNL_MSG_PACKET (0)
	msgVerdict      = nfnlSubsysQueue<<8 | 1 // NFQNL_MSG_VERDICT
	msgConfig       = nfnlSubsysQueue<<8 | 2 // NFQNL_MSG_CONFIG
	msgVerdictBatch = nfnlSubsysQueue<<8 | 3 // NFQNL_MSG_VERDICT_BATCH

	attrPacketHdr  = 1  // NFQA_PACKET_HDR: be32 id, be16 hw_protocol, u8 hook
	attrVerdictHdr = 2  // NFQA_VERDICT_HDR: be32 verdict, be32 id
	attrMark       = 3  // NFQA_MARK
	attrInDev      = 5  // NFQA_IFINDEX_INDEV
	attrOutDev     = 6  // NFQA_IFINDEX_OUTDEV
	attrPayload    = 10 // NFQA_PAYLOAD
	attrCapLen     = 13 // NFQA_CAP_LEN: the packet's length when cut by the copy range
	attrSkbInfo    = 14 // NFQA_SKB_INFO: be32 flags, sent only with NFQA_CFG_F_GSO

	skbCsumNotReady = 1 << 0 // NFQA_SKB_CSUMNOTREADY: ip_summed == CHECKSUM_PARTIAL
	skbGSO          = 1 << 1 // NFQA_SKB_GSO: skb_is_gso

	cfgCmd         = 1 // NFQA_CFG_CMD: u8 command, pad, be16 pf
	cfgParams      = 2 // NFQA_CFG_PARAMS: be32 copy_range, u8 copy_mode
	cfgQueueMaxLen = 3 // NFQA_CFG_QUEUE_MAXLEN
	cfgMask        = 4 // NFQA_CFG_MASK
	cfgFlags       = 5 // NFQA_CFG_FLAGS

	cmdBind = 1 // NFQNL_CFG_CMD_BIND

	nlaTypeMask = 0x3fff // without NLA_F_NESTED, NLA_F_NET_BYTEORDER
)

func align4(n int) int { return (n + 3) &^ 3 }

// packetInfo is what one NFQNL_MSG_PACKET says (nfqnl_build_packet_message).
type packetInfo struct {
	id      uint32
	hook    uint8
	mark    uint32
	in, out uint32
	payload []byte
	capLen  uint32 // 0 unless the payload was cut
	skbInfo uint32 // NFQA_SKB_INFO flags (nfqnl_put_packet_info)
}

// parsePacket reads the body of an NFQNL_MSG_PACKET (after the nlmsghdr).
// payload aliases b. ok is false without a packet header.
func parsePacket(b []byte, pi *packetInfo) (ok bool) {
	*pi = packetInfo{}
	if len(b) < nfgenLen {
		return false
	}
	b = b[nfgenLen:]
	for len(b) >= nlaHdrLen {
		l := int(binary.NativeEndian.Uint16(b))
		t := binary.NativeEndian.Uint16(b[2:]) & nlaTypeMask
		if l < nlaHdrLen || l > len(b) {
			return false
		}
		v := b[nlaHdrLen:l]
		switch t {
		case attrPacketHdr:
			if len(v) < 7 {
				return false
			}
			pi.id = binary.BigEndian.Uint32(v)
			pi.hook = v[6]
			ok = true
		case attrMark:
			pi.mark = be32(v)
		case attrInDev:
			pi.in = be32(v)
		case attrOutDev:
			pi.out = be32(v)
		case attrPayload:
			pi.payload = v
		case attrCapLen:
			pi.capLen = be32(v)
		case attrSkbInfo:
			pi.skbInfo = be32(v)
		}
		if a := align4(l); a < len(b) {
			b = b[a:]
		} else {
			break
		}
	}
	return ok
}

func be32(v []byte) uint32 {
	if len(v) < 4 {
		return 0
	}
	return binary.BigEndian.Uint32(v)
}

// fill sets p from pi.
func (pi *packetInfo) fill(p *datapath.Packet) {
	*p = datapath.Packet{
		Data:   pi.payload,
		Link:   datapath.LinkIP,
		Hook:   datapath.Hook(pi.hook), // NF_INET_PRE_ROUTING..NF_INET_POST_ROUTING in the same order
		InIf:   int(pi.in),
		OutIf:  int(pi.out),
		Mark:   pi.mark,
		Handle: uint64(pi.id),
		// Without NFQA_CFG_F_GSO the kernel finishes the checksum before
		// queueing (nfqnl_build_packet_message: skb_checksum_help) and
		// sends no NFQA_SKB_INFO.
		CsumPartial: pi.skbInfo&skbCsumNotReady != 0,
	}
}

// putNlmsg appends a netlink message header and an nfgenmsg for queue.
// The length is patched by endNlmsg.
func putNlmsg(b []byte, typ uint16, flags uint16, queue uint16) []byte {
	var h [nlmsgHdrLen + nfgenLen]byte
	binary.NativeEndian.PutUint16(h[4:], typ)
	binary.NativeEndian.PutUint16(h[6:], flags)
	// h[16] family AF_UNSPEC, h[17] NFNETLINK_V0, res_id = queue.
	binary.BigEndian.PutUint16(h[18:], queue)
	return append(b, h[:]...)
}

func endNlmsg(b []byte, start int) []byte {
	binary.NativeEndian.PutUint32(b[start:], uint32(len(b)-start))
	return b
}

func putAttr(b []byte, typ uint16, v ...byte) []byte {
	var h [nlaHdrLen]byte
	binary.NativeEndian.PutUint16(h[:], uint16(nlaHdrLen+len(v)))
	binary.NativeEndian.PutUint16(h[2:], typ)
	b = append(b, h[:]...)
	b = append(b, v...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func putAttr32(b []byte, typ uint16, v uint32) []byte {
	var h [nlaHdrLen + 4]byte
	binary.NativeEndian.PutUint16(h[:], nlaHdrLen+4)
	binary.NativeEndian.PutUint16(h[2:], typ)
	binary.BigEndian.PutUint32(h[4:], v)
	return append(b, h[:]...)
}

// putVerdict appends one verdict message: NFQNL_MSG_VERDICT_BATCH, which
// nfqnl_recv_verdict_batch applies to every queued packet up to id, or
// NFQNL_MSG_VERDICT for id alone (nfqnl_recv_verdict), which also carries
// a new mark.
func putVerdict(b []byte, queue uint16, id uint32, verdict uint32, batch bool, mark uint32, setMark bool) []byte {
	typ := uint16(msgVerdict)
	if batch {
		typ = msgVerdictBatch
	}
	start := len(b)
	b = putNlmsg(b, typ, nlmFRequest, queue)
	var v [8]byte
	binary.BigEndian.PutUint32(v[:], verdict)
	binary.BigEndian.PutUint32(v[4:], id)
	b = putAttr(b, attrVerdictHdr, v[:]...)
	if setMark {
		b = putAttr32(b, attrMark, mark)
	}
	return endNlmsg(b, start)
}

// nlError returns the errno of an NLMSG_ERROR body (0 for an ack).
func nlError(b []byte) int32 {
	if len(b) < 4 {
		return 0
	}
	return -int32(binary.NativeEndian.Uint32(b))
}
