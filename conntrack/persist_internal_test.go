package conntrack

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"unsafe"

	"github.com/hare-fw/hare/packet"
)

// savedFields lists every field of entry, by path and type, that the state
// file carries (encodeEntry/decodeEntry). gen is the slot's, not the
// connection's, and deadline travels as the time left.
var savedFields = []string{
	"tuple [2]conntrack.Tuple",
	"id uint32", "gen uint32", "status conntrack.Status", "mark uint32",
	"start int64", "deadline int64", "counters [2]conntrack.Counters",
	"labels [2]uint64", "timeout int64",
	"tcp.seen [2]conntrack.tcpDir", "tcp.state conntrack.TCPState", "tcp.lastDir conntrack.Dir",
	"tcp.retrans uint8", "tcp.lastIndex uint8", "tcp.lastSeq uint32", "tcp.lastAck uint32",
	"tcp.lastEnd uint32", "tcp.lastWin uint16", "tcp.lastWScale uint8", "tcp.lastFlags uint8",
	"proto.sctp.state uint8", "proto.sctp.flags uint8", "proto.sctp.lastDir conntrack.Dir",
	"proto.sctp.init [2]bool", "proto.sctp.vtag [2]uint32",
	// inside the arrays above
	"Tuple.Src [16]uint8", "Tuple.Dst [16]uint8", "Tuple.SrcPort uint16", "Tuple.DstPort uint16",
	"Tuple.Proto packet.IPProto", "Tuple.Family uint8", "Tuple.Zone uint16",
	"Counters.Packets uint64", "Counters.Bytes uint64",
	"tcpDir.end uint32", "tcpDir.maxEnd uint32", "tcpDir.maxWin uint32", "tcpDir.maxAck uint32",
	"tcpDir.scale uint8", "tcpDir.flags uint8",
}

// structFields lists the leaf fields of t as savedFields spells them.
func structFields(t reflect.Type, prefix string, out *[]string) {
	for i := range t.NumField() {
		f := t.Field(i)
		name := prefix + f.Name
		ft := f.Type
		if ft.Kind() == reflect.Struct && ft.PkgPath() == "github.com/hare-fw/hare/conntrack" &&
			(ft.Name() == "tcpState" || ft.Name() == "protoState" || ft.Name() == "sctpState") {
			structFields(ft, name+".", out)
			continue
		}
		*out = append(*out, name+" "+ft.String())
		if ft.Kind() == reflect.Array && ft.Elem().Kind() == reflect.Struct {
			structFields(ft.Elem(), ft.Elem().Name()+".", out)
		}
	}
}

// TestStateRecordCoversEntry fails when entry gains, loses or retypes a
// field: the state file must then carry it (encodeEntry, decodeEntry,
// stateRecSize) under a new stateVersion, and savedFields be updated.
func TestStateRecordCoversEntry(t *testing.T) {
	var got []string
	structFields(reflect.TypeFor[entry](), "", &got)
	want := slices.Clone(savedFields)
	slices.Sort(got)
	slices.Sort(want)
	got = slices.Compact(got)
	if !slices.Equal(got, want) {
		t.Fatalf("entry fields changed; update the state record and stateVersion.\nentry has: %q\nrecord has: %q", got, want)
	}
}

// randomize sets every field reachable in v to random bits.
func randomize(rng *rand.Rand, v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			f := v.Field(i)
			// Unexported fields are read-only through reflect; a
			// pointer to the same memory is not.
			randomize(rng, reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem())
		}
	case reflect.Array:
		for i := range v.Len() {
			randomize(rng, v.Index(i))
		}
	case reflect.Bool:
		v.SetBool(rng.IntN(2) == 1)
	case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(rng.Uint64())
	case reflect.Int64:
		v.SetInt(int64(rng.Uint64()))
	default:
		panic("randomize: unhandled kind " + v.Kind().String())
	}
}

// randomEntry returns an entry with every field random, then the few that
// validEntry constrains put back in range.
func randomEntry(rng *rand.Rand) entry {
	var e entry
	randomize(rng, reflect.ValueOf(&e).Elem())
	o := &e.tuple[0]
	o.Family = []uint8{4, 6}[rng.IntN(2)]
	if o.Family == 4 {
		clear(o.Src[4:])
		clear(o.Dst[4:])
	}
	o.Proto = []packet.IPProto{packet.ProtoTCP, packet.ProtoUDP, packet.ProtoSCTP, packet.ProtoGRE, 99}[rng.IntN(5)]
	e.tuple[1], _ = o.invert()
	e.status = (e.status&0xffff | StatusConfirmed) &^ StatusDying
	e.timeout &= 1<<62 - 1
	e.deadline = int64(rng.Uint64N(1 << 50))
	e.tcp.state = TCPState(rng.UintN(uint(tcpMax)))
	e.tcp.lastIndex = uint8(rng.UintN(uint(tcpNoneSet) + 1))
	e.tcp.lastDir = Dir(rng.IntN(2))
	e.tcp.seen[0].scale = uint8(rng.IntN(15))
	e.tcp.seen[1].scale = uint8(rng.IntN(15))
	e.tcp.lastWScale = uint8(rng.IntN(15))
	e.proto.sctp.state = uint8(rng.UintN(uint(sctpMax)))
	e.proto.sctp.lastDir = Dir(rng.IntN(2))
	return e
}

// TestStateRecordRoundTrip encodes entries whose every field is random and
// decodes them: each must come back equal, but for the deadline, which is
// moved from the saving clock to the restoring one, and gen, which belongs
// to the slot. Since randomize reaches fields by reflection, a field the
// record forgot would come back zero and fail here.
func TestStateRecordRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var rec [stateRecSize]byte
	for i := range 2000 {
		e := randomEntry(rng)
		saveNow, loadNow := int64(rng.Uint64N(1<<50)), int64(rng.Uint64N(1<<50))
		encodeEntry(rec[:], &e, saveNow)
		var got entry
		left, err := decodeEntry(rec[:], &got)
		if err != nil {
			t.Fatalf("entry %d: %v\n%+v", i, err, e)
		}
		if left != e.deadline-saveNow {
			t.Fatalf("entry %d: %d ns left, want %d", i, left, e.deadline-saveNow)
		}
		got.deadline = loadNow + left
		want := e
		want.deadline = e.deadline - saveNow + loadNow
		want.gen = 0
		if got != want {
			t.Fatalf("entry %d changed in the record:\n got %+v\nwant %+v", i, got, want)
		}
	}
}
