package afpacket

import (
	"os"
	"strings"
	"testing"
)

// TestOpenUnknownInterface: a configuration naming an interface that does
// not exist is an error naming it (it panicked in the cleanup: a typo in
// hare.toml crashed hare run).
func TestOpenUnknownInterface(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipping: needs root (AF_PACKET socket)")
	}
	br, err := Open(DefaultConfig("nosuch-hare0", "nosuch-hare1"))
	if err == nil {
		br.Close()
		t.Fatal("Open of unknown interfaces succeeded")
	}
	if br != nil || !strings.Contains(err.Error(), "nosuch-hare0") {
		t.Errorf("Open: %v, %v; want nil and an error naming nosuch-hare0", br, err)
	}
}
