package ruleset

import (
	"bufio"
	"math/big"
	"net/netip"
	"os"
	"strings"
	"sync"
)

// value checks one constant v of datatype d and returns its number when
// it has one (for range checks).
func (c *checker) value(v *Value, d dtype) (*big.Int, bool) {
	s := v.Text
	if n, ok := parseNumber(s); ok {
		max := new(big.Int).Lsh(big.NewInt(1), uint(d.bits))
		max.Sub(max, big.NewInt(1))
		if n.Cmp(max) > 0 {
			switch d.kind {
			case kService:
				// inet_service_type_parse
				c.errAt(v.Pos, "Error: Service out of range")
			case kProto:
				// inet_protocol_type_parse
				c.errAt(v.Pos, "Error: Protocol out of range")
			case kAddr4, kAddr6:
				return nil, false
			default:
				// integer_type_parse via constant_expr_alloc's range check
				c.errAt(v.Pos, "Error: Value %s exceeds valid range 0-%s", n, max)
			}
			return nil, false
		}
		if d.kind == kAddr4 || d.kind == kAddr6 {
			return nil, false
		}
		return n, true
	}
	if v.Quoted && d.kind != kMark {
		return nil, false
	}
	switch d.kind {
	case kInt:
		if isWordSymbol(s) {
			c.errAt(v.Pos, "Error: Could not parse integer")
		}
	case kMark:
		c.errAt(v.Pos, "Error: Could not parse %s", d.desc)
	case kSym:
		if !d.syms[s] && isWordSymbol(s) {
			c.errAt(v.Pos, "Error: Could not parse %s", d.desc)
		}
	case kService:
		if _, ok := services[s]; !ok && isWordSymbol(s) && !systemName("/etc/services", s) {
			c.errAt(v.Pos, "Error: Could not resolve service: Servname not supported for ai_socktype")
		}
	case kProto:
		if _, ok := protocols[s]; !ok && isWordSymbol(s) && !systemName("/etc/protocols", s) {
			c.errAt(v.Pos, "Error: Could not resolve protocol name")
		}
	case kAddr4:
		if a, err := netip.ParseAddr(s); err == nil && a.Is6() {
			c.errAt(v.Pos, "Error: Could not resolve hostname: Address family for hostname not supported")
		}
	case kAddr6:
		if a, err := netip.ParseAddr(s); err == nil && a.Is4() {
			c.errAt(v.Pos, "Error: Could not resolve hostname: Address family for hostname not supported")
		}
	}
	return nil, false
}

// parseNumber parses a decimal or 0x hexadecimal integer of any size.
func parseNumber(s string) (*big.Int, bool) {
	base := 10
	if len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X") {
		base, s = 16, s[2:]
	}
	if s == "" {
		return nil, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || base == 16 && (c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F')) {
			return nil, false
		}
	}
	n, ok := new(big.Int).SetString(s, base)
	return n, ok
}

// isWordSymbol reports whether s is a plain symbol (letters, digits, -,
// _), as opposed to an address, time or other literal Check does not
// judge.
func isWordSymbol(s string) bool {
	if s == "" || !(s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z') {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

var (
	sysNamesOnce sync.Once
	sysNames     map[string]map[string]bool
)

// systemName reports whether name (or an alias) is listed in file,
// /etc/services or /etc/protocols, which nft resolves names through
// (getservbyname, getprotobyname).
func systemName(file, name string) bool {
	sysNamesOnce.Do(func() {
		sysNames = map[string]map[string]bool{}
		for _, f := range []string{"/etc/services", "/etc/protocols"} {
			m := map[string]bool{}
			if fh, err := os.Open(f); err == nil {
				sc := bufio.NewScanner(fh)
				for sc.Scan() {
					l, _, _ := strings.Cut(sc.Text(), "#")
					w := strings.Fields(l)
					for i, x := range w {
						if i != 1 {
							m[x] = true
						}
					}
				}
				fh.Close()
			}
			sysNames[f] = m
		}
	})
	return sysNames[file][name]
}
