package ruleset

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// jv is a JSON value that keeps the key order of its objects: nft's JSON
// output (libnftables, built on jansson) is compared byte for byte, and
// Go maps would sort keys.
type jv interface{ encodeJSON(b *strings.Builder) }

// jobj is an object, keys in insertion order.
type jobj []jkv

type jkv struct {
	k string
	v jv
}

type (
	jarr  []jv
	jstr  string
	jint  int64
	juint uint64
	jbool bool
	jnull struct{}
)

// obj builds an object from key, value pairs.
func obj(kvs ...any) jobj {
	o := make(jobj, 0, len(kvs)/2)
	for i := 0; i+1 < len(kvs); i += 2 {
		o = append(o, jkv{kvs[i].(string), kvs[i+1].(jv)})
	}
	return o
}

// with returns o with key k set to v appended.
func (o jobj) with(k string, v jv) jobj { return append(o, jkv{k, v}) }

// single is the one-key object {k: v}, nft's wrapper of every expression
// and statement.
func single(k string, v jv) jobj { return jobj{{k, v}} }

// encodeJSON writes the value as jansson's json_dumps does with the flags
// nft 1.0.6 uses for -j (no JSON_COMPACT, no indent): ", " between items,
// ": " after keys, everything on one line.
func (o jobj) encodeJSON(b *strings.Builder) {
	b.WriteByte('{')
	for i, kv := range o {
		if i > 0 {
			b.WriteString(", ")
		}
		jstr(kv.k).encodeJSON(b)
		b.WriteString(": ")
		kv.v.encodeJSON(b)
	}
	b.WriteByte('}')
}

func (a jarr) encodeJSON(b *strings.Builder) {
	b.WriteByte('[')
	for i, v := range a {
		if i > 0 {
			b.WriteString(", ")
		}
		v.encodeJSON(b)
	}
	b.WriteByte(']')
}

// encodeJSON escapes as jansson's dump_string does without
// JSON_ENSURE_ASCII or JSON_ESCAPE_SLASH: '"', '\\' and control
// characters; UTF-8 passes through. Invalid UTF-8 cannot be dumped by
// jansson; it is written as U+FFFD here.
func (s jstr) encodeJSON(b *strings.Builder) {
	b.WriteByte('"')
	for _, r := range string(s) {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x20 {
				b.WriteString(`\u00`)
				b.WriteByte("0123456789abcdef"[r>>4])
				b.WriteByte("0123456789abcdef"[r&15])
				continue
			}
			if r == utf8.RuneError {
				b.WriteRune(utf8.RuneError)
				continue
			}
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
}

func (n jint) encodeJSON(b *strings.Builder)  { b.WriteString(strconv.FormatInt(int64(n), 10)) }
func (n juint) encodeJSON(b *strings.Builder) { b.WriteString(strconv.FormatUint(uint64(n), 10)) }
func (v jbool) encodeJSON(b *strings.Builder) {
	if v {
		b.WriteString("true")
	} else {
		b.WriteString("false")
	}
}
func (jnull) encodeJSON(b *strings.Builder) { b.WriteString("null") }
