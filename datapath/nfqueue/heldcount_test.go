package nfqueue

import (
	"bytes"
	"encoding/binary"
	"os"
	"testing"

	"github.com/hare-fw/hare/datapath"
)

// nullConn is a syscall.RawConn whose writes go to /dev/null, so that
// Done's verdict messages can be read back from the port's wbuf.
type nullConn struct{ f *os.File }

func (c nullConn) Control(f func(uintptr)) error    { f(c.f.Fd()); return nil }
func (c nullConn) Read(f func(uintptr) bool) error  { f(c.f.Fd()); return nil }
func (c nullConn) Write(f func(uintptr) bool) error { f(c.f.Fd()); return nil }

// verdictTypes returns the message types of the verdicts in b.
func verdictTypes(b []byte) (types []uint16, ids []uint32) {
	for len(b) >= nlmsgHdrLen {
		l := int(binary.NativeEndian.Uint32(b))
		if l < nlmsgHdrLen+nfgenLen+12 || l > len(b) {
			break
		}
		types = append(types, binary.NativeEndian.Uint16(b[4:]))
		ids = append(ids, binary.BigEndian.Uint32(b[nlmsgHdrLen+nfgenLen+8:]))
		b = b[(l+3)&^3:]
	}
	return types, ids
}

// TestHeldCountSameBatch: a packet kept (Stolen) and forwarded within the
// same batch (the fragment and the fragment completing its datagram in
// one Read) is kept no longer when the batch is done, so the next batch,
// with nothing kept, gets its verdict in runs again. The count of kept
// packets must not drift up: a drift turns batch verdicts off for good.
func TestHeldCountSameBatch(t *testing.T) {
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	p := &port{dp: &Datapath{}, raw: nullConn{null}, wbuf: make([]byte, 0, 256)}
	p.writeFn = p.send
	batch := func(ids ...uint32) *datapath.Batch {
		b := &datapath.Batch{}
		p.ids = p.ids[:0]
		for _, id := range ids {
			b.Pkts = append(b.Pkts, datapath.Packet{Handle: uint64(id), Verdict: datapath.Accept})
			p.ids = append(p.ids, id)
		}
		p.batch = len(ids)
		return b
	}
	// Batch 1: packet 1 is kept, and forwarded while packet 2 (which
	// completes its datagram) is decided.
	b := batch(1, 2)
	b.Pkts[0].Verdict = datapath.Stolen
	held := b.Pkts[0]
	if err := p.Forward(&held); err != nil {
		t.Fatal(err)
	}
	if err := p.Done(b); err != nil {
		t.Fatal(err)
	}
	if typ, ids := verdictTypes(p.wbuf); len(typ) != 2 || ids[0] != 1 || ids[1] != 2 {
		t.Fatalf("batch 1 verdicts for ids %v, want 1 then 2", ids)
	}
	// Batch 2: nothing is kept any more; three accepted packets take one
	// batch verdict.
	if err := p.Done(batch(3, 4, 5)); err != nil {
		t.Fatal(err)
	}
	typ, ids := verdictTypes(p.wbuf)
	if len(typ) != 1 || typ[0] != msgVerdictBatch || ids[0] != 5 {
		t.Errorf("batch 2: verdict types %#x for ids %v (kept count %d), want one batch verdict up to 5", typ, ids, p.held)
	}
}

// TestForwardMark: a kept packet forwarded with SetMark gets its mark in
// its verdict (NFQA_MARK), as Done gives a packet of the batch its own.
func TestForwardMark(t *testing.T) {
	p := &port{dp: &Datapath{}}
	p.Forward(&datapath.Packet{Handle: 7, SetMark: true, NewMark: 0x2a})
	p.Forward(&datapath.Packet{Handle: 8})
	want := putVerdict(nil, 0, 7, 1, false, 0x2a, true)
	want = putVerdict(want, 0, 8, 1, false, 0, false)
	if !bytes.Equal(p.pend, want) {
		t.Errorf("verdicts %x, want %x", p.pend, want)
	}
}
