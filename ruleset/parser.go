package ruleset

import (
	"fmt"
	"strconv"
	"strings"
)

var sprintf = fmt.Sprintf

// Parse parses the nft source src, read from file name. Includes are
// resolved with cfg. The error, if any, is an ErrorList of *Error.
func Parse(name string, src []byte, cfg Config) (*File, error) {
	pp := &preproc{cfg: cfg, defs: map[string][]token{}, srcs: map[string][]byte{}}
	if err := pp.run(name, src); err != nil {
		return nil, ErrorList{err}
	}
	end := token{kind: tokEOF, pos: Pos{name, 1, 1}}
	if n := len(pp.out); n > 0 {
		end.pos = pp.out[n-1].pos
	}
	p := &parser{toks: append(pp.out, end), srcs: pp.srcs}
	f, err := p.file()
	if err != nil {
		return nil, ErrorList{err}
	}
	f.srcs = pp.srcs
	return f, nil
}

// ParseFile reads and parses a file, resolving includes from the file
// system relative to the including file's directory.
func ParseFile(name string) (*File, error) {
	cfg := OSConfig()
	src, err := cfg.ReadFile(name)
	if err != nil {
		return nil, err
	}
	return Parse(name, src, cfg)
}

type parser struct {
	toks []token
	i    int
	srcs map[string][]byte
}

// bail aborts parsing with an error; file recovers it.
type bail struct{ err *Error }

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) peekN(n int) token {
	if p.i+n < len(p.toks) {
		return p.toks[p.i+n]
	}
	return p.toks[len(p.toks)-1]
}

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

func (p *parser) failAt(t token, format string, args ...any) {
	panic(bail{newError(p.srcs, t, format, args...)})
}

func (p *parser) unexpected(t token, want string) {
	if want != "" {
		p.failAt(t, "syntax error, unexpected %s, expecting %s", t, want)
	}
	p.failAt(t, "syntax error, unexpected %s", t)
}

func (p *parser) isWord(s string) bool {
	t := p.peek()
	return t.kind == tokWord && t.text == s
}

func (p *parser) isPunct(s string) bool {
	t := p.peek()
	return t.kind == tokPunct && t.text == s
}

func (p *parser) acceptWord(s string) bool {
	if p.isWord(s) {
		p.i++
		return true
	}
	return false
}

func (p *parser) acceptPunct(s string) bool {
	if p.isPunct(s) {
		p.i++
		return true
	}
	return false
}

func (p *parser) expectPunct(s string) token {
	t := p.next()
	if t.kind != tokPunct || t.text != s {
		p.unexpected(t, "'"+s+"'")
	}
	return t
}

func (p *parser) expectWord(s string) token {
	t := p.next()
	if t.kind != tokWord || t.text != s {
		p.unexpected(t, s)
	}
	return t
}

// ident reads an identifier. nft 1.0.6 takes no quoted string where it
// wants the name of a table, chain, set, map or object, or a jump target
// ("unexpected quoted string, expecting string").
func (p *parser) ident() string {
	t := p.next()
	if t.kind != tokWord {
		p.unexpected(t, "string")
	}
	return t.text
}

// name reads an identifier or a quoted string.
func (p *parser) name() string {
	t := p.next()
	if t.kind != tokWord && t.kind != tokString {
		p.unexpected(t, "string")
	}
	return t.text
}

func (p *parser) str() string {
	t := p.next()
	if t.kind != tokString && t.kind != tokWord {
		p.unexpected(t, "quoted string")
	}
	return t.text
}

func (p *parser) number() uint64 {
	t := p.next()
	n, err := parseUint(t.text)
	if t.kind != tokWord || err != nil {
		p.unexpected(t, "number")
	}
	return n
}

func parseUint(s string) (uint64, error) {
	return strconv.ParseUint(s, 0, 64)
}

// atStmtEnd reports whether the next token ends a statement.
func (p *parser) atStmtEnd() bool {
	t := p.peek()
	return t.kind == tokNL || t.kind == tokEOF || t.kind == tokPunct && t.text == "}"
}

func (p *parser) skipNL() {
	for p.peek().kind == tokNL {
		p.i++
	}
}

// endStmt consumes the terminator of a statement (newline, ';', or nothing
// before '}' / EOF).
func (p *parser) endStmt() {
	t := p.peek()
	switch {
	case t.kind == tokNL:
		p.i++
	case t.kind == tokEOF, t.kind == tokPunct && t.text == "}":
	default:
		p.unexpected(t, "newline or semicolon")
	}
}

func (p *parser) file() (f *File, err *Error) {
	defer func() {
		if r := recover(); r != nil {
			b, ok := r.(bail)
			if !ok {
				panic(r)
			}
			f, err = nil, b.err
		}
	}()
	f = &File{}
	for {
		p.skipNL()
		t := p.peek()
		if t.kind == tokEOF {
			return f, nil
		}
		f.Commands = append(f.Commands, p.command())
		p.endStmt()
	}
}

func (p *parser) family() Family {
	t := p.peek()
	if t.kind == tokWord {
		if fam := familyFromString(t.text); fam != FamilyUnknown {
			// "table inet" alone would make inet the name: only a family
			// when a name follows.
			if n := p.peekN(1); n.kind == tokWord || n.kind == tokString {
				p.i++
				return fam
			}
		}
	}
	return FamilyIP
}

var verbs = map[string]bool{"add": true, "create": true, "insert": true, "replace": true, "delete": true, "destroy": true, "flush": true, "reset": true, "list": true}

func (p *parser) command() *Command {
	t := p.next()
	if t.kind != tokWord {
		p.unexpected(t, "")
	}
	c := &Command{Pos: t.pos, Index: -1}
	if t.text == "table" {
		c.Kind = "table"
		p.tableCmd(c)
		return c
	}
	if !verbs[t.text] {
		p.unexpected(t, "")
	}
	c.Verb = t.text
	k := p.next()
	if k.kind != tokWord {
		p.unexpected(k, "")
	}
	c.Kind = k.text
	switch k.text {
	case "ruleset":
		if fam := familyFromString(p.peek().text); fam != FamilyUnknown && p.peek().kind == tokWord {
			p.i++
			c.Family = fam
		}
	case "table":
		p.tableCmd(c)
	case "chain":
		c.Family = p.family()
		c.Table = p.nameIdent("")
		c.Chain = p.nameIdent("")
		ch := &Chain{Pos: t.pos, Name: c.Chain}
		if p.acceptPunct("{") {
			p.chainBody(ch)
		}
		c.ChainBody = ch
	case "rule":
		c.Family = p.family()
		c.Table = p.nameIdent("")
		c.Chain = p.nameIdent("")
		for {
			switch {
			case p.acceptWord("handle"), p.acceptWord("position"):
				c.Handle = p.number()
				c.HasPos = true
				continue
			case p.acceptWord("index"):
				c.Index = int(p.number())
				continue
			}
			break
		}
		if c.Verb != "delete" {
			c.Rule = p.rule()
		}
	case "set", "map":
		c.Family = p.family()
		c.Table = p.nameIdent("")
		c.Name = p.nameIdent("")
		if p.acceptPunct("{") {
			c.Set = p.setBody(t.pos, c.Name, k.text == "map")
		}
	case "element":
		c.Family = p.family()
		c.Table = p.nameIdent("")
		c.Name = p.nameIdent("")
		c.Elems = p.setExpr().Elems
	case "counter", "quota", "limit", "ct", "synproxy", "secmark", "flowtable":
		kind := k.text
		if kind == "ct" {
			kind = "ct " + p.ident()
		}
		c.Kind = kind
		c.Family = p.family()
		c.Table = p.nameIdent("")
		c.Name = p.nameIdent(kind)
		o := &Object{Pos: t.pos, Kind: kind, Name: c.Name}
		if p.acceptPunct("{") {
			p.objectBody(o)
		} else {
			for !p.atStmtEnd() {
				t := p.next()
				if t.kind == tokPunct && (t.text == "{" || t.text == "}") {
					p.unexpected(t, "newline") // a body must follow the name directly
				}
				w := t.text
				if t.kind == tokString {
					w = nftQuote(w)
				}
				o.Fields = append(o.Fields, []string{w})
			}
		}
		c.Object = o
	default:
		p.unexpected(k, "")
	}
	return c
}

func (p *parser) tableCmd(c *Command) {
	c.Family = p.family()
	if t := p.peek(); t.kind == tokString && t.text == "" {
		p.unexpected(t, "string")
	}
	c.Table = p.nameIdent("")
	tb := &Table{Pos: c.Pos, Family: c.Family, Name: c.Table}
	c.TableBody = tb
	if p.acceptPunct("{") {
		p.tableBody(tb)
	}
}

func (p *parser) tableBody(tb *Table) {
	for {
		p.skipNL()
		t := p.next()
		if t.kind == tokPunct && t.text == "}" {
			return
		}
		if t.kind != tokWord {
			p.unexpected(t, "")
		}
		c := &Command{Pos: t.pos, Kind: t.text, Family: tb.Family, Table: tb.Name, Index: -1}
		switch t.text {
		case "chain":
			c.Chain = p.nameIdent("")
			ch := &Chain{Pos: t.pos, Name: c.Chain}
			p.expectPunct("{")
			p.chainBody(ch)
			c.ChainBody = ch
		case "set", "map":
			c.Name = p.nameIdent("")
			p.expectPunct("{")
			c.Set = p.setBody(t.pos, c.Name, t.text == "map")
		case "flags":
			tb.Flags = append(tb.Flags, p.name())
			for p.acceptPunct(",") {
				tb.Flags = append(tb.Flags, p.name())
			}
			p.endStmt()
			continue
		case "comment":
			tb.Comment = p.str()
			p.endStmt()
			continue
		case "counter", "quota", "limit", "ct", "synproxy", "secmark", "flowtable":
			kind := t.text
			if kind == "ct" {
				kind = "ct " + p.ident()
			}
			c.Kind = kind
			c.Name = p.nameIdent(kind)
			o := &Object{Pos: t.pos, Kind: kind, Name: c.Name}
			p.expectPunct("{")
			p.objectBody(o)
			c.Object = o
		default:
			p.unexpected(t, "")
		}
		tb.Commands = append(tb.Commands, c)
		p.endStmt()
	}
}

// objectBody reads the body of a named object up to '}' as word lists.
func (p *parser) objectBody(o *Object) {
	var cur []string
	depth := 0
	for {
		t := p.next()
		switch {
		case t.kind == tokEOF:
			p.unexpected(t, "'}'")
		case t.kind == tokPunct && t.text == "}" && depth == 0:
			if len(cur) > 0 {
				o.Fields = append(o.Fields, cur)
			}
			return
		case t.kind == tokNL && depth == 0:
			if len(cur) > 0 {
				o.Fields = append(o.Fields, cur)
			}
			cur = nil
		case t.kind == tokNL:
		case t.kind == tokWord && t.text == "comment" && depth == 0:
			o.Comment = p.str()
		default:
			if t.kind == tokPunct && t.text == "{" {
				depth++
			}
			if t.kind == tokPunct && t.text == "}" {
				depth--
			}
			s := t.text
			if t.kind == tokString {
				s = nftQuote(t.text)
			}
			cur = append(cur, s)
		}
	}
}

var prioNames = map[string]int{"raw": -300, "mangle": -150, "dstnat": -100, "filter": 0, "security": 50, "srcnat": 100, "out": 100, "dstnat_bridge": -300}

func (p *parser) priority() Priority {
	var pr Priority
	p.spliceString()
	neg := p.acceptPunct("-")
	t := p.next()
	if t.kind != tokWord {
		p.unexpected(t, "number")
	}
	text := t.text
	// "filter-5" and "filter+5" lex as one word.
	if i := strings.IndexAny(text, "-+"); i > 0 && !neg {
		if n, err := strconv.Atoi(text[i+1:]); err == nil {
			if text[i] == '-' {
				n = -n
			}
			pr.Offset = n
			text = text[:i]
		}
	}
	if n, err := strconv.Atoi(text); err == nil {
		if neg {
			n = -n
		}
		return Priority{Offset: n}
	}
	if _, ok := prioNames[text]; !ok {
		p.failAt(t, "unknown chain priority '%s'", text)
	}
	pr.Name = text
	for {
		if p.acceptPunct("-") {
			pr.Offset -= int(p.number())
		} else if p.acceptPunct("+") {
			pr.Offset += int(p.number())
		} else if t := p.peek(); t.kind == tokWord && strings.HasPrefix(t.text, "+") {
			p.i++
			n, _ := strconv.Atoi(t.text[1:])
			pr.Offset += n
		} else {
			return pr
		}
	}
}

func (p *parser) chainBody(ch *Chain) {
	for {
		p.skipNL()
		t := p.peek()
		if t.kind == tokPunct && t.text == "}" {
			p.i++
			return
		}
		switch {
		case p.isWord("type") && p.peekN(2).kind == tokWord && p.peekN(2).text == "hook":
			p.i++
			ch.Type = p.name()
			p.expectWord("hook")
			ch.Hook = p.name()
			for {
				if p.acceptWord("device") {
					ch.Devices = append(ch.Devices, p.primary())
					continue
				}
				if p.acceptWord("devices") {
					p.expectPunct("=")
					x := p.primary()
					if s, ok := x.(*SetExpr); ok {
						ch.Devices = append(ch.Devices, s.Elems...)
					} else {
						ch.Devices = append(ch.Devices, x)
					}
					continue
				}
				break
			}
			if p.acceptWord("priority") {
				ch.Priority = p.priority()
			}
			p.endStmt()
		case p.isWord("policy"):
			p.i++
			p.spliceString()
			pt := p.next()
			if pt.kind != tokWord || pt.text != "accept" && pt.text != "drop" {
				p.failAt(pt, "syntax error, policy must be accept or drop")
			}
			ch.Policy = pt.text
			p.endStmt()
		case p.isWord("comment") && p.peekN(1).kind == tokString && p.peekN(2).kind != tokWord:
			p.i++
			ch.Comment = p.str()
			ch.HasComment = true
			p.endStmt()
		default:
			r := p.rule()
			ch.Rules = append(ch.Rules, r)
			p.endStmt()
		}
	}
}

func (p *parser) setBody(pos Pos, name string, isMap bool) *Set {
	s := &Set{Pos: pos, Name: name, IsMap: isMap}
	for {
		p.skipNL()
		t := p.next()
		if t.kind == tokPunct && t.text == "}" {
			if len(s.Key) == 0 && s.KeyTypeof == nil {
				p.failAt(t, "set definition does not specify key")
			}
			return s
		}
		if t.kind != tokWord {
			p.unexpected(t, "")
		}
		switch t.text {
		case "type":
			s.Key = append(s.Key, p.typeName())
			for p.acceptPunct(".") {
				s.Key = append(s.Key, p.typeName())
			}
			if isMap {
				p.expectPunct(":")
				if p.acceptWord("interval") {
					s.DataIsInterval = true
				}
				s.Data = p.typeName()
				for p.acceptPunct(".") {
					s.Data += " . " + p.typeName()
				}
			}
		case "typeof":
			s.KeyTypeof = p.concatExpr()
			if isMap {
				p.expectPunct(":")
				if p.acceptWord("interval") {
					s.DataIsInterval = true
				}
				s.DataTypeof = p.concatExpr()
			}
		case "flags":
			s.Flags = append(s.Flags, p.name())
			for p.acceptPunct(",") {
				s.Flags = append(s.Flags, p.name())
			}
		case "timeout":
			s.Timeout = p.name()
		case "gc-interval":
			s.GCInterval = p.name()
		case "size":
			s.Size = p.number()
		case "policy":
			s.Policy = p.name()
		case "auto-merge":
			s.AutoMerge = true
		case "comment":
			s.Comment = p.str()
		case "counter":
			s.Counter = true
			s.Stmts = append(s.Stmts, &CounterStmt{Pos: t.pos})
		case "elements":
			p.expectPunct("=")
			s.Elems = append(s.Elems, p.setExpr().Elems...)
		default:
			p.unexpected(t, "")
		}
		p.endStmt()
	}
}

// typeName reads a datatype name of a set or map declaration: an
// identifier (ipv4_addr, inet_service, verdict), never a number or an
// empty string.
func (p *parser) typeName() string {
	t := p.next()
	if t.kind != tokWord && t.kind != tokString {
		p.unexpected(t, "datatype")
	}
	if c := t.text; c == "" || !(c[0] >= 'a' && c[0] <= 'z' || c[0] >= 'A' && c[0] <= 'Z') {
		p.failAt(t, "unknown datatype %s", strconv.Quote(t.text))
	}
	return t.text
}

// spliceString replaces a quoted string at the cursor by its tokens, as
// nft does for variables holding "filter - 100" or "accept".
func (p *parser) spliceString() {
	t := p.peek()
	if t.kind != tokString {
		return
	}
	toks, err := lex(t.pos.File, []byte(t.text))
	if err != nil || len(toks) < 2 {
		return
	}
	toks = toks[:len(toks)-1]
	for i := range toks {
		toks[i].pos = t.pos
	}
	rest := append(toks, p.toks[p.i+1:]...)
	p.toks = append(p.toks[:p.i:p.i], rest...)
}
