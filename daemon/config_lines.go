package daemon

import (
	"bytes"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
)

// keyLines finds the line a TOML key is defined on, for error messages:
// the decoder (toml.MetaData) knows the positions of keys but does not
// export them. It reads the file line by line, keeping track of the
// current [table], and records the first line of every table header and
// key = value line. Values spanning lines (multi-line strings and arrays)
// are skipped over only roughly: a continuation line that looks like
// "key = …" could be taken for a key, which only matters for a message.
type keyLines struct {
	line map[string]int // toml.Key.String() → line (1-based)
}

func newKeyLines(data []byte) *keyLines {
	kl := &keyLines{line: make(map[string]int)}
	var table []string
	inMulti := "" // the delimiter of an open multi-line string
	for n, raw := range bytes.Split(data, []byte("\n")) {
		s := strings.TrimSpace(string(raw))
		if inMulti != "" {
			if strings.Contains(s, inMulti) {
				inMulti = ""
			}
			continue
		}
		switch {
		case s == "" || s[0] == '#':
			continue
		case strings.HasPrefix(s, "[["), strings.HasPrefix(s, "["):
			end := strings.LastIndexByte(s, ']')
			if end < 0 {
				continue
			}
			inner := strings.Trim(s[:end+1], "[]")
			table = splitKey(inner)
			kl.add(table, n+1)
			continue
		}
		eq := keyEnd(s)
		if eq < 0 {
			continue
		}
		kl.add(append(append([]string(nil), table...), splitKey(s[:eq])...), n+1)
		rest := s[eq+1:]
		for _, d := range []string{`"""`, `'''`} {
			if strings.Count(rest, d)%2 == 1 {
				inMulti = d
			}
		}
	}
	return kl
}

func (kl *keyLines) add(k []string, line int) {
	s := toml.Key(k).String()
	if _, ok := kl.line[s]; !ok {
		kl.line[s] = line
	}
}

// find returns the line of key k, or of the nearest enclosing table that
// has one; 0 if none.
func (kl *keyLines) find(k toml.Key) int {
	for n := len(k); n > 0; n-- {
		if l, ok := kl.line[k[:n].String()]; ok {
			return l
		}
	}
	return 0
}

// keysOf returns the keys of section's map m in the order of their lines.
func (kl *keyLines) keysOf(section string, m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool {
		li, lj := kl.find(toml.Key{section, ks[i]}), kl.find(toml.Key{section, ks[j]})
		if li != lj {
			return li < lj
		}
		return ks[i] < ks[j]
	})
	return ks
}

// keyEnd returns the index of the '=' ending the key of a key = value
// line, or -1: quoted key parts may contain '='.
func keyEnd(s string) int {
	var q byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case q != 0:
			if c == '\\' && q == '"' {
				i++
			} else if c == q {
				q = 0
			}
		case c == '"' || c == '\'':
			q = c
		case c == '=':
			return i
		}
	}
	return -1
}

// splitKey splits a dotted key (a.b, "a.b".c, 'x') into its parts.
func splitKey(s string) []string {
	var parts []string
	var cur strings.Builder
	var q byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case q != 0:
			if c == '\\' && q == '"' && i+1 < len(s) {
				i++
				cur.WriteByte(s[i])
			} else if c == q {
				q = 0
			} else {
				cur.WriteByte(c)
			}
		case c == '"' || c == '\'':
			q = c
		case c == '.':
			parts = append(parts, strings.TrimSpace(cur.String()))
			cur.Reset()
		case c == ' ' || c == '\t':
		default:
			cur.WriteByte(c)
		}
	}
	return append(parts, strings.TrimSpace(cur.String()))
}
