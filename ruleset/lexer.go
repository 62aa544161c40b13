package ruleset

// The lexer splits nft source into tokens. nft's own grammar is
// context-sensitive about '.', ':', '-' and '/', which appear both inside
// values (10.0.0.1, fe80::1, echo-request, 10.0.0.0/8, 10/second) and as
// operators (concatenation, map arrows, ranges, masks). The rule used here:
// those characters are part of a word when they follow a word character
// with no blank in between and are followed by a word character (or, for
// ':', by ':' or '/'); otherwise they are punctuation. The parser splits the
// remaining ambiguous words (1024-65535, 1.2.3.4:80) where the grammar
// needs it.

import "fmt"

// tokKind is a token kind. The zero value is tokEOF.
type tokKind uint8

const (
	tokEOF    tokKind = iota
	tokNL             // newline or ';': ends a statement
	tokWord           // identifier, number, address, time, ...
	tokString         // "quoted", Text is the content without quotes
	tokVar            // $name, Text is name
	tokAt             // @name, Text is name
	tokPunct          // operators and brackets, Text is the operator
)

// token is one lexical token. semi records that a tokNL came from ';'.
type token struct {
	kind tokKind
	text string
	pos  Pos
	len  int
	semi bool
}

func (t token) String() string {
	switch t.kind {
	case tokEOF:
		return "end of file"
	case tokNL:
		if t.semi {
			return "';'"
		}
		return "newline"
	case tokString:
		return "quoted string" // nft's name for the token, whatever it holds
	case tokVar:
		return "$" + t.text
	case tokAt:
		return "@" + t.text
	}
	return "'" + t.text + "'"
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c >= 0x80
}

// lex splits src into tokens. It stops at the first error.
func lex(file string, src []byte) ([]token, *Error) {
	var toks []token
	line, lineStart := 1, 0
	i := 0
	errAt := func(at, n int, format string, args ...any) *Error {
		return &Error{File: file, Line: line, Col: at - lineStart + 1, Msg: fmt.Sprintf(format, args...), Src: srcLine(src, line), Len: n}
	}
	emit := func(k tokKind, text string, start, end int) {
		toks = append(toks, token{kind: k, text: text, pos: Pos{file, line, start - lineStart + 1}, len: end - start})
	}
	for i < len(src) {
		c := src[i]
		switch {
		case c == '\n':
			emit(tokNL, "\n", i, i+1)
			i++
			line, lineStart = line+1, i
		case c == ' ' || c == '\t' || c == '\r':
			i++
		case c == '\\' && i+1 < len(src) && src[i+1] == '\n':
			i += 2
			line, lineStart = line+1, i
		case c == '#':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case c == ';':
			emit(tokNL, ";", i, i+1)
			toks[len(toks)-1].semi = true
			i++
		case c == '"' || c == '\'':
			j := i + 1
			for j < len(src) && src[j] != c && src[j] != '\n' {
				j++
			}
			if j >= len(src) || src[j] != c {
				return toks, errAt(i, 1, "unterminated string")
			}
			emit(tokString, string(src[i+1:j]), i, j+1)
			i = j + 1
		case c == '$' || c == '@':
			j := i + 1
			for j < len(src) && (isWordByte(src[j]) || src[j] == '-' || src[j] == '.') {
				j++
			}
			if j == i+1 {
				return toks, errAt(i, 1, "syntax error, expected a name after '%c'", c)
			}
			k := tokVar
			if c == '@' {
				k = tokAt
			}
			emit(k, string(src[i+1:j]), i, j)
			i = j
		case isWordByte(c) || c == ':' && i+1 < len(src) && src[i+1] == ':':
			j := i
			for j < len(src) {
				d := src[j]
				if isWordByte(d) {
					j++
					continue
				}
				if d == '.' || d == '-' || d == '/' || d == ':' {
					n := byte(0)
					if j+1 < len(src) {
						n = src[j+1]
					}
					if isWordByte(n) || d == ':' && (n == ':' || n == '/' && j > i && src[j-1] == ':') || d == '/' && j > i && src[j-1] == ':' && isWordByte(n) {
						j++
						continue
					}
					// "::" at the end of an address (fe80::) or "::/0".
					if d == ':' && j > i && src[j-1] == ':' {
						j++
						continue
					}
				}
				break
			}
			emit(tokWord, string(src[i:j]), i, j)
			i = j
		default:
			two := ""
			if i+1 < len(src) {
				two = string(src[i : i+2])
			}
			switch two {
			case "!=", "==", "<=", ">=", "<<", ">>":
				emit(tokPunct, two, i, i+2)
				i += 2
				continue
			}
			switch c {
			case '{', '}', '(', ')', '[', ']', ',', '.', ':', '=', '!', '<', '>', '&', '|', '^', '-', '/', '*', '+':
				emit(tokPunct, string(c), i, i+1)
				i++
			default:
				return toks, errAt(i, 1, "syntax error, unexpected character %q", c)
			}
		}
	}
	toks = append(toks, token{kind: tokEOF, pos: Pos{file, line, i - lineStart + 1}})
	return toks, nil
}
