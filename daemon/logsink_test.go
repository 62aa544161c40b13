package daemon

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hare-fw/hare/capture"
	"github.com/hare-fw/hare/defrag"
	"github.com/hare-fw/hare/packet"
)

const rulesLog = `table inet fw {
	chain input {
		type filter hook input priority filter; policy accept;
		tcp dport 22 log prefix "ssh: " level info
		tcp dport 23 log group 5
	}
}
`

// TestLogStatements: a syslog log statement becomes a log record holding
// the nf_log_syslog line; a `log group N` appends the packet to
// group-N.pcapng, which rotates at pcap_rotate_bytes keeping pcap_keep
// old files.
func TestLogStatements(t *testing.T) {
	h := &harness{t: t, dir: t.TempDir()}
	pcaps := filepath.Join(h.dir, "pcap", "groups") // created by New
	h.write("rules.nft", rulesLog)
	h.write("hare.toml", fmt.Sprintf("[ruleset]\nfile = %q\n[log]\nformat = \"json\"\nlevel = \"debug\"\npcap_dir = %q\npcap_rotate_bytes = 4096\npcap_keep = 2\n",
		filepath.Join(h.dir, "rules.nft"), pcaps))
	c, err := LoadConfig(filepath.Join(h.dir, "hare.toml"))
	if err != nil {
		t.Fatal(err)
	}
	var logBuf bytes.Buffer
	h.now.Store(1_700_000_000e9)
	d, err := New(c, Options{LogOutput: &logBuf, Now: h.now.Load})
	if err != nil {
		t.Fatal(err)
	}
	h.d = d
	h.port = newMemPort(nil, nil, 64)
	h.w = newWorker(h.port, workerConfig{eng: d.eng, now: d.now, batch: 64, defrag: defrag.ConfigFrom(c.Conntrack),
		ifDev: testDev("eth0"), ifGen: &d.ifGen, pol: &d.pol})

	h.send(tcpPkt(client, server, 40000, 22, 1, 0, packet.TCPSyn))
	var rec struct {
		Level, Msg, Line string
	}
	if err := json.Unmarshal(logBuf.Bytes(), &rec); err != nil {
		t.Fatalf("%v: %q", err, logBuf.String())
	}
	// The kernel's line for this packet (nf_log_syslog; engine/log_format.go
	// is checked against the kernel's in engine/log_oracle_test.go).
	if rec.Level != "INFO" || rec.Msg != "log" || !strings.HasPrefix(rec.Line, "ssh: IN=eth0 OUT= MAC= SRC=192.0.2.1 DST=198.51.100.7 LEN=40 ") ||
		!strings.Contains(rec.Line, " PROTO=TCP SPT=40000 DPT=22 ") {
		t.Errorf("log record %+v", rec)
	}

	// 40-byte packets take 72 bytes each in the file: about 56 fit in 4096.
	var sent [][]byte
	for i := range 250 {
		pk := tcpPkt(client, server, uint16(30000+i), 23, 1, 0, packet.TCPSyn)
		sent = append(sent, pk.Data)
		h.send(pk)
	}
	d.sink.pcaps.close()
	var got [][]byte
	for _, name := range []string{"group-5.pcapng.2", "group-5.pcapng.1", "group-5.pcapng"} {
		got = append(got, readAll(t, filepath.Join(pcaps, name))...)
	}
	if _, err := os.Stat(filepath.Join(pcaps, "group-5.pcapng.3")); err == nil {
		t.Error("a third old file was kept with pcap_keep 2")
	}
	// The oldest packets went with the file rotated away; the rest are
	// there, in order, byte for byte.
	if len(got) == 0 || len(got) >= len(sent) {
		t.Fatalf("%d packets in the files, %d sent: no rotation happened", len(got), len(sent))
	}
	tail := sent[len(sent)-len(got):]
	for i := range got {
		if !bytes.Equal(got[i], tail[i]) {
			t.Fatalf("packet %d of the files differs from packet %d sent", i, len(sent)-len(got)+i)
		}
	}
	if n := strings.Count(logBuf.String(), `"msg":"nflog"`); n != 250 {
		t.Errorf("%d nflog records, want 250", n)
	}
}

func readAll(t *testing.T, path string) (out [][]byte) {
	t.Helper()
	r, err := capture.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	buf := make([]capture.Packet, 64)
	for {
		n, err := r.ReadBatch(buf)
		for _, p := range buf[:n] {
			if p.Link != packet.LinkRaw {
				t.Errorf("%s: link type %v, want raw IP", path, p.Link)
			}
			out = append(out, append([]byte(nil), p.Data...))
		}
		if err == io.EOF || (err == nil && n == 0) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}
