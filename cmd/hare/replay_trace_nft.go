package main

import "github.com/hare-fw/hare/internal/nfttrace"

// appendNft appends the datagram's `nft monitor trace` lines (nft 1.0.6;
// see nfttrace.Append). Ids are a hash of the datagram's sequence number.
func (t *traceRun) appendNft(b []byte) []byte {
	return nfttrace.Append(b, nfttrace.ID(t.seq), t.events, &t.pkt, &t.meta, t.texts)
}
