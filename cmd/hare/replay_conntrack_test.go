package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/hare-fw/hare/conntrack"
	"github.com/hare-fw/hare/internal/ctfmt"
	"github.com/hare-fw/hare/packet/packettest"
)

// TestReplayConntrackFlags checks the connection-tracking flags' usage
// errors, which name the bad flag or setting.
func TestReplayConntrackFlags(t *testing.T) {
	sample := writeTemp(t, "s.pcapng", writeCapture(t, packettest.Sample()))
	tests := []struct {
		name   string
		args   []string
		want   int
		stdout string
		stderr string
	}{
		{"bad clock", []string{"--clock", "wall", sample}, 2, "", `--clock "wall": want capture or frozen`},
		{"bad profile", []string{"--profile", "bsd", sample}, 2, "", `--profile "bsd"`},
		{"unknown setting", []string{"--set", "tcp_lose=1", sample}, 2, "", `--set tcp_lose=1: unknown conntrack setting "tcp_lose"`},
		{"bad value", []string{"--set", "udp_timeout=soon", sample}, 2, "", `--set udp_timeout=soon: setting udp_timeout: "soon" is not a number`},
		{"no value", []string{"--set", "udp_timeout", sample}, 2, "", `--set "udp_timeout": want name=value`},
		{"bad max-entries", []string{"--max-entries", "-1", sample}, 2, "", `--max-entries -1: setting max`},
		{"bad ct-output", []string{"--ct-output", "id,labels", sample}, 2, "", `--ct-output "id,labels"`},
		{"prefixed setting", []string{"--set", "net.netfilter.nf_conntrack_tcp_loose=0", "--table", sample}, 0, "tcp      6", ""},
		{"help-settings needs no capture", []string{"--help-settings"}, 0, "tcp_timeout_established", ""},
		{"table replaces the summary", []string{"--table", sample}, 0, "ipv4     2 ", ""},
		{"summary with table", []string{"--table", "--summary", sample}, 0, "connection tracking: clock capture, profile linux", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := hare(t, append([]string{"replay"}, tt.args...)...)
			if code != tt.want {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.want, out, errOut)
			}
			if !strings.Contains(out, tt.stdout) || !strings.Contains(errOut, tt.stderr) {
				t.Errorf("stdout lacks %q or stderr lacks %q\nstdout: %s\nstderr: %s", tt.stdout, tt.stderr, out, errOut)
			}
			if tt.name == "table replaces the summary" && strings.Contains(out, "LINK TYPE") {
				t.Errorf("summary printed with --table:\n%s", out)
			}
		})
	}
}

// TestHelpSettingsListsEverySetting checks --help-settings against
// conntrack.SettingNames, with the default of each.
func TestHelpSettingsListsEverySetting(t *testing.T) {
	_, out, _ := hare(t, "replay", "--help-settings")
	def := conntrack.DefaultSettings()
	for _, n := range conntrack.SettingNames() {
		v, _ := def.Get(n)
		re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(n) + ` +` + strconv.FormatInt(v, 10) + ` +\d+  \S`)
		if !re.MatchString(out) {
			t.Errorf("--help-settings has no line for %s (default %d) with a description", n, v)
		}
	}
}

// TestReplayConntrackGolden pins --packets, --events and --table, text and
// JSON, on the committed sample capture (testdata/replay-sample-ct.*.golden;
// -update rewrites them).
func TestReplayConntrackGolden(t *testing.T) {
	t.Chdir("../..")
	for _, output := range []string{"text", "json"} {
		t.Run(output, func(t *testing.T) {
			code, out, errOut := hare(t, "replay", "-o", output, "--clock", "frozen", "--packets", "--events", "--table", "testdata/sample.pcapng")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			golden := "testdata/replay-sample-ct." + map[string]string{"text": "txt", "json": "jsonl"}[output] + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (create it with: go test ./cmd/hare -run TestReplayConntrackGolden -update)", err)
			}
			if out != string(want) {
				t.Errorf("output differs from %s; if the change is intended, run: go test ./cmd/hare -run TestReplayConntrackGolden -update\n--- got:\n%s", golden, out)
			}
		})
	}
}

// TestReplayConntrackJSONStream checks that -o json with --packets,
// --events and --table is a stream of JSON values: packet objects, event
// objects, then one array of entries, consistent with each other.
func TestReplayConntrackJSONStream(t *testing.T) {
	sample := writeTemp(t, "s.pcapng", writeCapture(t, packettest.Sample()))
	code, out, errOut := hare(t, "replay", "-o", "json", "--clock", "frozen", "--packets", "--events", "--table", sample)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	dec := json.NewDecoder(strings.NewReader(out))
	var packets, news int
	ids := map[uint32]bool{}
	var table []ctfmt.Entry
	for {
		var raw json.RawMessage
		if err := dec.Decode(&raw); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("not a JSON stream: %v\n%s", err, out)
		}
		switch {
		case raw[0] == '[':
			if err := json.Unmarshal(raw, &table); err != nil {
				t.Fatal(err)
			}
		case bytes.HasPrefix(raw, []byte(`{"event"`)):
			var ev ctfmt.Event
			if err := json.Unmarshal(raw, &ev); err != nil {
				t.Fatal(err)
			}
			if ev.Event == "NEW" {
				news++
				ids[ev.CT.ID] = true
			}
		default:
			var p struct {
				N  uint64 `json:"n"`
				ID uint32 `json:"id"`
			}
			if err := json.Unmarshal(raw, &p); err != nil {
				t.Fatal(err)
			}
			packets++
			if p.N != uint64(packets) {
				t.Errorf("packet line %d has n %d", packets, p.N)
			}
			if p.ID != 0 && !ids[p.ID] {
				t.Errorf("packet %d has id %d before its NEW event", p.N, p.ID)
			}
		}
	}
	if packets != len(packettest.Sample()) || news == 0 || len(table) == 0 {
		t.Errorf("%d packet lines, %d NEW events, %d entries", packets, news, len(table))
	}
	for _, e := range table {
		if !ids[e.ID] {
			t.Errorf("entry %d in the table without a NEW event", e.ID)
		}
	}
}
