package conntrack_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"maps"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/hare-fw/hare/capture"
	"github.com/hare-fw/hare/conntrack"
	"github.com/hare-fw/hare/packet"
	"github.com/hare-fw/hare/packet/packettest"
)

// capPkt is one packet of a capture, copied out of the reader's buffer.
type capPkt struct {
	data []byte
	link packet.LinkType
	time int64
}

// stateCaptures returns the packets of every capture of the shared corpus
// and of hare's own scenarios, by file name.
func stateCaptures(t *testing.T) map[string][]capPkt {
	t.Helper()
	var paths []string
	for _, glob := range []string{"../../shared/testdata/pcaps/*.pcap*", "../testdata/scenarios/*.pcapng"} {
		m, _ := filepath.Glob(glob)
		paths = append(paths, m...)
	}
	if len(paths) == 0 {
		t.Skip("no captures found in ../../shared/testdata/pcaps or ../testdata/scenarios")
	}
	out := map[string][]capPkt{}
	batch := make([]capture.Packet, 64)
	for _, path := range paths {
		r, err := capture.Open(path)
		if err != nil {
			continue // a link type capture does not read is no concern here
		}
		var pkts []capPkt
		for {
			n, err := r.ReadBatch(batch)
			for _, p := range batch[:n] {
				pkts = append(pkts, capPkt{bytes.Clone(p.Data), p.Link, p.Time})
			}
			if err != nil {
				break
			}
		}
		r.Close()
		if len(pkts) > 0 {
			out[filepath.Base(path)] = pkts
		}
	}
	return out
}

// feed runs one captured packet through tb, as a replay without rules does.
func feed(tb *conntrack.Table, pk capPkt, p *packet.Parsed, res *conntrack.Result) {
	p.Decode(pk.data, pk.link)
	tb.Process(p, 0, pk.time, res)
}

// entries returns every entry of tb by original tuple.
func entries(tb *conntrack.Table) map[conntrack.Tuple]conntrack.Entry {
	m := map[conntrack.Tuple]conntrack.Entry{}
	tb.Range(func(e *conntrack.Entry) bool {
		m[e.Orig] = *e
		return true
	})
	return m
}

// tableDiff describes the first difference between two tables' entries,
// or returns "".
func tableDiff(got, want map[conntrack.Tuple]conntrack.Entry) string {
	for k, w := range want {
		if g, ok := got[k]; !ok {
			return fmt.Sprintf("missing %v %v:%d > %v:%d", k.Proto, k.SrcAddr(), k.SrcPort, k.DstAddr(), k.DstPort)
		} else if g != w {
			return fmt.Sprintf("\n got %+v\nwant %+v", g, w)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			return fmt.Sprintf("extra %v %v:%d > %v:%d", k.Proto, k.SrcAddr(), k.SrcPort, k.DstAddr(), k.DstPort)
		}
	}
	return ""
}

// TestSaveRestoreCaptures is the round-trip property on real traffic: for
// every capture and several cut points, the packets before the cut go
// through table A, A is saved and restored into a fresh table B, and then
//
//   - B holds exactly A's entries that had time left, equal field by field
//     (a restore at a later clock moves each deadline by the same amount);
//   - the rest of the capture, fed to both, gets the same conntrack result
//     packet by packet (state, direction, reason, new, drop, entry id) and
//     leaves equal entries behind each packet. The entry snapshot does not
//     show the TCP window or SCTP tags; the verdicts of the following
//     packets are what depend on them, so this is the check that they came
//     back whole.
func TestSaveRestoreCaptures(t *testing.T) {
	caps := stateCaptures(t)
	rng := rand.New(rand.NewPCG(11, 13))
	var files, cuts, restored, compared int
	names := slices.Sorted(maps.Keys(caps)) // the cut points are drawn in this order
	for _, name := range names {
		pkts := caps[name]
		files++
		cutAt := []int{1, len(pkts) / 2, len(pkts) - 1}
		for range 3 {
			cutAt = append(cutAt, 1+rng.IntN(len(pkts)))
		}
		for _, cut := range cutAt {
			if cut < 1 || cut > len(pkts) {
				continue
			}
			cuts++
			a := conntrack.NewTable(nil, nil)
			var p packet.Parsed
			var res, resB conntrack.Result
			for _, pk := range pkts[:cut] {
				feed(a, pk, &p, &res)
			}
			now := pkts[cut-1].time
			var buf bytes.Buffer
			n, err := a.Save(&buf, now)
			if err != nil || n != a.Len() {
				t.Fatalf("%s cut %d: Save wrote %d of %d entries: %v", name, cut, n, a.Len(), err)
			}
			want := entries(a)
			for k, e := range want {
				if e.Deadline <= now {
					delete(want, k)
				}
			}

			const delta = 3_600_000_000_000 // restored an hour later
			later := conntrack.NewTable(nil, nil)
			st, err := later.Restore(bytes.NewReader(buf.Bytes()), now+delta)
			if err != nil || st.Loaded != len(want) || st.Loaded+st.Expired != n || st.SavedAt != now {
				t.Fatalf("%s cut %d: restore an hour later: %+v, %v; want %d loaded of %d", name, cut, st, err, len(want), n)
			}
			for k, e := range entries(later) {
				w := want[k]
				w.Deadline += delta
				if e != w {
					t.Fatalf("%s cut %d: restored an hour later:\n got %+v\nwant %+v", name, cut, e, w)
				}
			}

			b := conntrack.NewTable(nil, nil)
			if st, err := b.Restore(bytes.NewReader(buf.Bytes()), now); err != nil || st.Loaded != len(want) {
				t.Fatalf("%s cut %d: restore: %+v, %v", name, cut, st, err)
			}
			restored += len(want)
			if d := tableDiff(entries(b), want); d != "" {
				t.Fatalf("%s cut %d: restored table differs: %s", name, cut, d)
			}
			var pb packet.Parsed
			for i, pk := range pkts[cut:] {
				feed(a, pk, &p, &res)
				feed(b, pk, &pb, &resB)
				compared++
				if res.State != resB.State || res.Dir != resB.Dir || res.Reason != resB.Reason ||
					res.PacketReason != resB.PacketReason || res.New != resB.New || res.Drop != resB.Drop || res.ID != resB.ID {
					t.Fatalf("%s cut %d, packet %d: original table %v/%v %q new=%v id=%d, restored %v/%v %q new=%v id=%d",
						name, cut, cut+i+1, res.State, res.Dir, res.Reason, res.New, res.ID,
						resB.State, resB.Dir, resB.Reason, resB.New, resB.ID)
				}
				var ea, eb conntrack.Entry
				okA, okB := a.Get(res.Ref, &ea), b.Get(resB.Ref, &eb)
				if okA != okB || ea != eb {
					t.Fatalf("%s cut %d, packet %d: entries differ:\noriginal %v %+v\nrestored %v %+v", name, cut, cut+i+1, okA, ea, okB, eb)
				}
			}
			end := pkts[len(pkts)-1].time
			a.Expire(end)
			b.Expire(end)
			if d := tableDiff(entries(b), entries(a)); d != "" {
				t.Fatalf("%s cut %d: tables differ at the end of the capture: %s", name, cut, d)
			}
		}
	}
	t.Logf("%d captures, %d cuts, %d entries restored, %d later packets agree", files, cuts, restored, compared)
	if restored == 0 || compared == 0 {
		t.Fatal("the captures gave nothing to compare")
	}
}

// smallState returns a table with a TCP connection (window scaling and
// SACK), a UDP flow and an ICMP echo, and its saved state at time now.
func smallState(tb testing.TB) (*conntrack.Table, []byte, int64) {
	tr := newTracker(tb, nil)
	now := 1000 * sec
	opts := packettest.Cat(packettest.MSS(1460), packettest.SACKPermitted(), packettest.NOP(), packettest.WScale(7))
	tcp := func(src, dst netip.Addr, sp, dp uint16, seq, ack uint32, fl packet.TCPFlags, o []byte, data int) {
		h := packettest.TCPHeader{SrcPort: sp, DstPort: dp, Seq: seq, Ack: ack, Flags: fl, Window: 501, Options: o}
		tr.send(ip(src, dst, 6, packettest.TCP(src, dst, h, make([]byte, data))), now)
		now += sec / 100
	}
	tcp(cli4, srv4, 40001, 443, 1000, 0, packet.TCPSyn, opts, 0)
	tcp(srv4, cli4, 443, 40001, 5000, 1001, packet.TCPSyn|packet.TCPAck, opts, 0)
	tcp(cli4, srv4, 40001, 443, 1001, 5001, packet.TCPAck, nil, 100)
	// The echo expires (30 s) a second before the UDP flow (30 s after
	// its reply); TestRestoreSkips saves between the two.
	tr.send(ip(cli4, rtr4, 1, packettest.ICMPv4Echo(true, 7, 1, nil)), now)
	tr.udp(cli6, srv6, 5353, 53, now+sec/2)
	tr.udp(srv6, cli6, 53, 5353, now+sec)
	now += 3 * sec
	var buf bytes.Buffer
	if n, err := tr.t.Save(&buf, now); err != nil || n != 3 {
		tb.Fatalf("Save: %d entries, %v", n, err)
	}
	return tr.t, buf.Bytes(), now
}

// withCRC returns b with its trailing checksum recomputed, so that a test
// can reach the checks behind it.
func withCRC(b []byte) []byte {
	b = bytes.Clone(b)
	n := len(b) - 4
	binary.LittleEndian.PutUint32(b[n:], crc32.Checksum(b[:n], crc32.MakeTable(crc32.Castagnoli)))
	return b
}

// victim returns a table holding one entry, to restore corrupt files into
// and check that it is left alone.
func victim(tb testing.TB) (*conntrack.Table, map[conntrack.Tuple]conntrack.Entry) {
	tr := newTracker(tb, nil)
	tr.udp(cli4, srv4, 1234, 5678, 40*sec)
	return tr.t, entries(tr.t)
}

func wantUntouched(tb testing.TB, what string, tab *conntrack.Table, before map[conntrack.Tuple]conntrack.Entry) {
	tb.Helper()
	if got := entries(tab); !reflect.DeepEqual(got, before) {
		tb.Fatalf("%s: the table changed although Restore failed: %+v", what, got)
	}
}

// TestRestoreCorrupt flips every byte of a small state file (two ways),
// truncates it at every length and extends it: every one of these files
// must be refused with an error (CRC-32C catches every error burst up to
// 32 bits), and the table restored into must not change.
func TestRestoreCorrupt(t *testing.T) {
	_, good, now := smallState(t)
	tab, before := victim(t)
	if st, err := conntrack.NewTable(nil, nil).Restore(bytes.NewReader(good), now); err != nil || st.Loaded != 3 {
		t.Fatalf("the intact file: %+v, %v", st, err)
	}
	try := func(what string, b []byte) {
		t.Helper()
		st, err := tab.Restore(bytes.NewReader(b), now)
		if err == nil {
			t.Fatalf("%s: accepted (%+v)", what, st)
		}
		wantUntouched(t, what, tab, before)
	}
	n := 0
	for i := range good {
		for _, x := range []byte{0x01, 0xff} {
			b := bytes.Clone(good)
			b[i] ^= x
			try("byte "+strconv.Itoa(i)+" flipped", b)
			n++
		}
	}
	for i := range good {
		try("truncated to "+strconv.Itoa(i), good[:i])
		n++
	}
	try("one byte more", append(bytes.Clone(good), 0))
	t.Logf("%d corrupt files of a %d-byte state file refused", n+1, len(good))
}

// TestRestoreRefusals checks the messages of refused files: they say what is
// wrong and where, and, through RestoreFile, which file.
func TestRestoreRefusals(t *testing.T) {
	_, good, now := smallState(t)
	tab, before := victim(t)
	dir := t.TempDir()
	cases := []struct {
		name string
		file []byte
		want string
	}{
		{"version", withCRC(func() []byte { b := bytes.Clone(good); b[8] = 3; return b }()), "version 3, this hare reads version 1"},
		{"magic", append([]byte("NOT-HARE"), good[8:]...), "not a hare conntrack state file"},
		{"checksum", func() []byte { b := bytes.Clone(good); b[60]++; return b }(), "checksum mismatch at offset"},
		{"truncated", good[:len(good)-10], "truncated:"},
		{"empty", nil, "truncated: 0 bytes"},
		// Byte 40+80+... lands in entry 0: a family of 7 with a valid CRC.
		{"family", withCRC(func() []byte { b := bytes.Clone(good); b[40+37] = 7; return b }()), "entry 0 at offset 40: original tuple: family 7"},
		{"reply", withCRC(func() []byte { b := bytes.Clone(good); b[40+40+34]++; return b }()), "reply tuple is not the inverse"},
	}
	for _, c := range cases {
		path := filepath.Join(dir, c.name)
		if err := os.WriteFile(path, c.file, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := tab.RestoreFile(path, now)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "state file "+path+": ") {
			t.Errorf("%s: error %v, want \"state file %s: …%s…\"", c.name, err, path, c.want)
		}
		wantUntouched(t, c.name, tab, before)
	}
	_, err := tab.RestoreFile(filepath.Join(dir, "absent"), now)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing file: %v, want an fs.ErrNotExist", err)
	}

	// A table too small for the file: refused, nothing loaded.
	s := conntrack.DefaultSettings().Clone()
	if err := s.Set("max", "3"); err != nil {
		t.Fatal(err)
	}
	small := conntrack.NewTable(s, nil)
	var p packet.Parsed
	var res conntrack.Result
	p.DecodeIP(ip(cli4, srv4, 17, packettest.UDP(cli4, srv4, 9, 9, nil)))
	small.Process(&p, 0, now, &res)
	_, err = small.Restore(bytes.NewReader(good), now)
	if err == nil || !strings.Contains(err.Error(), "3 live entries do not fit: the table holds 1 of at most 3") {
		t.Errorf("too small: %v", err)
	}
	if small.Len() != 1 {
		t.Errorf("too small: %d entries after the refusal, want the 1 there was", small.Len())
	}
}

// TestRestoreSkips: entries with no time left when saved, and entries the
// table already has, are skipped and counted; saved ids are kept and new
// ids follow them.
func TestRestoreSkips(t *testing.T) {
	a, _, now := smallState(t)
	orig := entries(a)
	// 27.5 s later the ICMP echo has expired; TCP and UDP have not.
	saved := now + 27*sec + sec/2
	var buf bytes.Buffer
	if n, err := a.Save(&buf, saved); err != nil || n != 3 {
		t.Fatalf("Save: %d, %v", n, err)
	}
	tr := newTracker(t, nil)
	tr.udp(cli6, srv6, 5353, 53, 5*sec) // the same UDP flow, reopened
	kept := entries(tr.t)
	st, err := tr.t.Restore(bytes.NewReader(buf.Bytes()), 7*sec)
	if err != nil || st.Loaded != 1 || st.Expired != 1 || st.Present != 1 {
		t.Fatalf("restore: %+v, %v; want 1 loaded (TCP), 1 expired (ICMP), 1 present (UDP)", st, err)
	}
	got := entries(tr.t)
	for k, e := range kept {
		if got[k] != e {
			t.Fatalf("the table's own UDP entry was replaced: %+v", got[k])
		}
	}
	var maxID uint32
	for k, e := range orig {
		maxID = max(maxID, e.ID)
		if k.Proto == packet.ProtoTCP {
			w := e
			w.Deadline = e.Deadline - saved + 7*sec
			if got[k] != w {
				t.Fatalf("TCP entry:\n got %+v\nwant %+v", got[k], w)
			}
		}
	}
	r := tr.udp(cli4, srv4, 1, 2, 8*sec)
	if r.ID <= maxID {
		t.Fatalf("a new entry after the restore has id %d, not above the saved %d", r.ID, maxID)
	}
}

// TestSaveFile: SaveFile replaces the file atomically and RestoreFile reads
// it back.
func TestSaveFile(t *testing.T) {
	a, _, now := smallState(t)
	path := filepath.Join(t.TempDir(), "ct.state")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if n, err := a.SaveFile(path, now); err != nil || n != 3 {
		t.Fatalf("SaveFile: %d, %v", n, err)
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "*"))
	if len(left) != 1 {
		t.Fatalf("files left beside the state file: %v", left)
	}
	b := conntrack.NewTable(nil, nil)
	if st, err := b.RestoreFile(path, now); err != nil || st.Loaded != 3 {
		t.Fatalf("RestoreFile: %+v, %v", st, err)
	}
	if !reflect.DeepEqual(entries(a), entries(b)) {
		t.Fatal("entries differ after SaveFile and RestoreFile")
	}
	if _, err := a.SaveFile(filepath.Join(path, "not-a-dir", "x"), now); err == nil {
		t.Fatal("SaveFile into a missing directory succeeded")
	}
}

// FuzzRestore: Restore never panics; a refused input leaves the table
// untouched; an accepted one saves and restores to the same entries. With
// the first byte odd the trailing checksum is recomputed, so the fuzzer
// reaches the record checks behind it.
func FuzzRestore(f *testing.F) {
	_, good, _ := smallState(f)
	f.Add(good)
	f.Add(good[:40])
	f.Add([]byte{})
	f.Add(withCRC(good))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 44 && b[0]&1 == 1 {
			b = withCRC(b)
		}
		tab, before := victim(t)
		const now = 50 * sec
		st, err := tab.Restore(bytes.NewReader(b), now)
		if err != nil {
			wantUntouched(t, "refused input", tab, before)
			return
		}
		var buf bytes.Buffer
		if _, err := tab.Save(&buf, now); err != nil {
			t.Fatal(err)
		}
		again := conntrack.NewTable(nil, nil)
		st2, err := again.Restore(&buf, now)
		if err != nil || st2.Loaded != tab.Len() {
			t.Fatalf("an accepted file (%+v) does not round-trip: %+v, %v", st, st2, err)
		}
		if !reflect.DeepEqual(entries(tab), entries(again)) {
			t.Fatal("entries differ after a second round trip")
		}
	})
}

// BenchmarkSaveRestore saves and restores a table of 100,000 TCP and UDP
// entries; ns/op is one Save or one Restore of the whole table.
func BenchmarkSaveRestore(b *testing.B) {
	tr := newTracker(b, nil)
	for i := range 50_000 {
		src := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		tr.udp(src, srv4, 4000, 53, sec)
		h := packettest.TCPHeader{SrcPort: 4000, DstPort: 443, Seq: 1, Flags: packet.TCPSyn, Window: 501}
		tr.send(ip(src, srv4, 6, packettest.TCP(src, srv4, h, nil)), sec)
	}
	var buf bytes.Buffer
	if _, err := tr.t.Save(&buf, sec); err != nil {
		b.Fatal(err)
	}
	file := buf.Bytes()
	b.Run("save", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(file)))
		for b.Loop() {
			buf.Reset()
			if _, err := tr.t.Save(&buf, sec); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("restore", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(file)))
		for b.Loop() {
			tab := conntrack.NewTable(nil, nil)
			if st, err := tab.Restore(bytes.NewReader(file), sec); err != nil || st.Loaded != 100_000 {
				b.Fatal(st, err)
			}
		}
	})
}
