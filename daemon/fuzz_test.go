package daemon

import (
	"os"
	"testing"
)

// FuzzParseConfig: no configuration file makes the parser panic; one it
// accepts passes its own checks and names a ruleset; one it refuses says
// which file.
func FuzzParseConfig(f *testing.F) {
	if b, err := os.ReadFile(exampleConfig); err == nil {
		f.Add(b)
	}
	f.Add([]byte("[ruleset]\nfile = \"r.nft\"\n[conntrack]\nmax = 5\nnf_conntrack_tcp_loose = true\n"))
	f.Add([]byte("a.\"b.c\".d = 1\n[x]\n'q' = '''\nmulti\n'''\n[[y]]\nz = [1, 2]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig("f.toml", data)
		if err != nil {
			ce, ok := err.(*ConfigError)
			if !ok || ce.File != "f.toml" {
				t.Fatalf("error %T %v does not name the file", err, err)
			}
			return
		}
		if c.Ruleset.File == "" || c.check() != nil || c.Conntrack == nil {
			t.Fatalf("accepted a configuration its checks refuse: %+v", c)
		}
	})
}
