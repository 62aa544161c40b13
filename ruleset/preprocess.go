package ruleset

// Preprocessing turns a file into one token stream: `include` statements
// are replaced by the tokens of the included files and `$name` by the
// tokens of its `define`. nft expands variables the same way, at parse
// time, so a variable may hold any token sequence (a set, a chain name, a
// priority).

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Config controls Parse. The zero value reads no includes.
type Config struct {
	// ReadFile reads an included file; nil makes every include an error.
	ReadFile func(name string) ([]byte, error)
	// Glob expands an include pattern containing * ? or [; nil means no
	// globbing (the pattern is read as a file name).
	Glob func(pattern string) ([]string, error)
}

// OSConfig returns a Config that reads includes from the file system.
func OSConfig() Config {
	return Config{ReadFile: os.ReadFile, Glob: filepath.Glob}
}

const maxIncludeDepth = 16

type preproc struct {
	cfg   Config
	defs  map[string][]token
	srcs  map[string][]byte
	out   []token
	depth int
}

func (pp *preproc) errAt(t token, format string, args ...any) *Error {
	return newError(pp.srcs, t, format, args...)
}

// run expands file (contents src) into pp.out, without the final EOF.
func (pp *preproc) run(file string, src []byte) *Error {
	pp.srcs[file] = src
	toks, err := lex(file, src)
	if err != nil {
		return err
	}
	start := true
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch {
		case t.kind == tokEOF:
			return nil
		case start && t.kind == tokWord && t.text == "include":
			if i+1 >= len(toks) || toks[i+1].kind != tokString {
				return pp.errAt(toks[i+1], "syntax error, include needs a quoted file name")
			}
			if err := pp.include(file, toks[i+1]); err != nil {
				return err
			}
			i++
			continue
		case start && t.kind == tokWord && (t.text == "define" || t.text == "redefine"):
			if i+2 >= len(toks) || toks[i+1].kind != tokWord || toks[i+2].kind != tokPunct || toks[i+2].text != "=" {
				return pp.errAt(toks[i+1], "syntax error, expected define NAME = VALUE")
			}
			name := toks[i+1].text
			if _, ok := pp.defs[name]; ok && t.text == "define" {
				return pp.errAt(toks[i+1], "redefinition of symbol '%s'", name)
			}
			var val []token
			depth := 0
			j := i + 3
			for ; j < len(toks) && toks[j].kind != tokEOF; j++ {
				u := toks[j]
				if u.kind == tokNL && depth == 0 {
					break
				}
				if u.kind == tokPunct && u.text == "{" {
					depth++
				}
				if u.kind == tokPunct && u.text == "}" {
					depth--
				}
				if u.kind == tokNL {
					continue
				}
				if u.kind == tokVar {
					v, ok := pp.defs[u.text]
					if !ok {
						return pp.errAt(u, "unknown identifier '%s'", u.text)
					}
					val = append(val, v...)
					continue
				}
				val = append(val, u)
			}
			if len(val) == 0 {
				return pp.errAt(toks[j], "syntax error, empty define")
			}
			pp.defs[name] = val
			i = j - 1
			continue
		case start && t.kind == tokWord && t.text == "undefine":
			if i+1 < len(toks) && toks[i+1].kind == tokWord {
				delete(pp.defs, toks[i+1].text)
				i++
				continue
			}
		case t.kind == tokVar:
			v, ok := pp.defs[t.text]
			if !ok {
				return pp.errAt(t, "unknown identifier '%s'", t.text)
			}
			pp.out = append(pp.out, v...)
			start = false
			continue
		}
		// log prefix "a $x b": nft 1.0.6 substitutes defines of
		// strings inside a log prefix (parser_bison.y, log_arg).
		if t.kind == tokString && i > 0 && toks[i-1].kind == tokWord && toks[i-1].text == "prefix" && strings.Contains(t.text, "$") {
			t.text = pp.expandString(t.text)
		}
		pp.out = append(pp.out, t)
		start = t.kind == tokNL || t.kind == tokPunct && (t.text == "{" || t.text == "}")
	}
	return nil
}

// expandString replaces $name in s by the text of name's define when that
// define is one string; anything else is left as written.
func (pp *preproc) expandString(s string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '$')
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		j := i + 1
		for j < len(s) && (s[j] == '_' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= '0' && s[j] <= '9') {
			j++
		}
		if v, ok := pp.defs[s[i+1:j]]; ok && len(v) == 1 && (v[0].kind == tokString || v[0].kind == tokWord) {
			b.WriteString(v[0].text)
		} else {
			b.WriteString(s[i:j])
		}
		s = s[j:]
	}
}

func (pp *preproc) include(from string, name token) *Error {
	if pp.depth >= maxIncludeDepth {
		return pp.errAt(name, "include nested too deeply")
	}
	if pp.cfg.ReadFile == nil {
		return pp.errAt(name, "include not allowed here")
	}
	path := name.text
	if !filepath.IsAbs(path) {
		path = filepath.Join(filepath.Dir(from), path)
	}
	files := []string{path}
	if strings.ContainsAny(path, "*?[") && pp.cfg.Glob != nil {
		m, err := pp.cfg.Glob(path)
		if err != nil {
			return pp.errAt(name, "bad include pattern: %v", err)
		}
		sort.Strings(m)
		files = m // an empty glob is not an error (nft agrees)
	}
	for _, f := range files {
		src, err := pp.cfg.ReadFile(f)
		if err != nil {
			return pp.errAt(name, "could not process include: %v", err)
		}
		pp.depth++
		e := pp.run(f, src)
		pp.depth--
		if e != nil {
			return e
		}
		pp.out = append(pp.out, token{kind: tokNL, text: "\n", pos: name.pos})
	}
	return nil
}

func newError(srcs map[string][]byte, t token, format string, args ...any) *Error {
	e := &Error{File: t.pos.File, Line: t.pos.Line, Col: t.pos.Col, Msg: sprintf(format, args...), Len: t.len}
	if src, ok := srcs[t.pos.File]; ok {
		e.Src = srcLine(src, t.pos.Line)
	}
	return e
}
