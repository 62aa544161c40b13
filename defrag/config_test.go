package defrag_test

import (
	"testing"

	"github.com/hare-fw/hare/conntrack"
	"github.com/hare-fw/hare/defrag"
)

// TestConfigFromDefaults: conntrack's default sysctls (its own table of
// Linux 6.18's values) give defrag's own Linux defaults (taken from
// include/net/ip.h and ipv6.h), so hare replay and hare run reassemble as
// Linux does out of the box; and a changed sysctl reaches the Config.
func TestConfigFromDefaults(t *testing.T) {
	s := conntrack.DefaultSettings()
	if got, want := defrag.ConfigFrom(s), defrag.DefaultConfig(); got != want {
		t.Errorf("ConfigFrom(DefaultSettings()) = %+v, want %+v", got, want)
	}
	if err := s.Set("frag6_timeout", "5"); err != nil {
		t.Fatal(err)
	}
	if got := defrag.ConfigFrom(s).Timeout6; got != 5e9 {
		t.Errorf("frag6_timeout 5: Timeout6 = %d, want 5e9", got)
	}
}
