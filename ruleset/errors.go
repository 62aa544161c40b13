package ruleset

import (
	"fmt"
	"strings"
)

// Pos is a position in a source file. Line and Col are 1-based; Col counts
// bytes. The zero Pos means "no position".
type Pos struct {
	File string
	Line int
	Col  int
}

// String returns "file:line:col".
func (p Pos) String() string { return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col) }

// Error is a parse error with its position. Src is the offending source line
// (without its newline) and Len the number of bytes to underline; both may be
// zero when unknown.
type Error struct {
	File string
	Line int
	Col  int
	Msg  string
	Src  string
	Len  int
}

var _ error = (*Error)(nil)

// Error prints "file:line:col: msg", then the source line and a caret line
// under the fault, as nft does.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
	if e.Src != "" {
		b.WriteByte('\n')
		b.WriteString(e.Src)
		b.WriteByte('\n')
		for i := 0; i < e.Col-1 && i < len(e.Src); i++ {
			if e.Src[i] == '\t' {
				b.WriteByte('\t')
			} else {
				b.WriteByte(' ')
			}
		}
		n := e.Len
		if n < 1 {
			n = 1
		}
		b.WriteString(strings.Repeat("^", n))
	}
	return b.String()
}

// ErrorList is the list of errors of one parse, in source order.
type ErrorList []*Error

// Error prints every error, one per paragraph.
func (l ErrorList) Error() string {
	s := make([]string, len(l))
	for i, e := range l {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// Unwrap returns the errors so errors.As finds the first *Error.
func (l ErrorList) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}

// srcLine returns line n (1-based) of src without its newline.
func srcLine(src []byte, n int) string {
	for i := 1; i < n; i++ {
		j := strings.IndexByte(string(src), '\n')
		if j < 0 {
			return ""
		}
		src = src[j+1:]
	}
	if j := strings.IndexByte(string(src), '\n'); j >= 0 {
		src = src[:j]
	}
	return string(src)
}
