package ruleset

// Expr is an expression: a selector of packet or metadata (Selector), a
// constant (Value), or a compound of them. Every node carries the position
// of its first token.
type Expr interface {
	Position() Pos
	exprNode()
}

// Selector reads a packet header field or metadata: Words are the keywords
// in canonical form, such as {"ip", "saddr"}, {"meta", "mark"},
// {"ct", "original", "saddr"} or {"tcp", "option", "maxseg", "size"}.
type Selector struct {
	Pos   Pos
	Words []string
	Args  []Expr // fib/ jhash/ numgen operands, when any
}

// Value is a literal as written (number, address, symbol, string). It is
// typed by context: the selector it is compared with decides whether "ssh"
// is a port and "tcp" a protocol.
type Value struct {
	Pos    Pos
	Text   string
	Quoted bool
}

// Prefix is X/Len.
type Prefix struct {
	Pos Pos
	X   Expr
	Len int
}

// Range is Lo-Hi.
type Range struct {
	Pos    Pos
	Lo, Hi Expr
}

// SetExpr is an anonymous set { a, b, ... }.
type SetExpr struct {
	Pos   Pos
	Elems []Expr
}

// SetRef is a reference to a named set or map, @name.
type SetRef struct {
	Pos  Pos
	Name string
}

// Concat is a . b . c.
type Concat struct {
	Pos Pos
	Xs  []Expr
}

// List is a comma separated list of flag values (ct state a,b; tcp flags
// syn,ack) outside braces.
type List struct {
	Pos Pos
	Xs  []Expr
}

// Binop is X Op Y with Op one of & | ^ << >>.
type Binop struct {
	Pos  Pos
	Op   string
	X, Y Expr
}

// MapLookup is X map M (M a SetExpr of MapElems or a SetRef).
type MapLookup struct {
	Pos Pos
	X   Expr
	Map Expr
}

// MapElem is Key : Val inside a map.
type MapElem struct {
	Pos Pos
	Key Expr
	Val Expr
}

// Elem is a set element with attributes (timeout, expires, comment,
// counter).
type Elem struct {
	Pos     Pos
	X       Expr
	Timeout string
	Expires string
	Comment string
	Stmts   []Stmt
}

// Verdict is a verdict as a value (in a vmap) or as a statement.
type Verdict struct {
	Pos   Pos
	Kind  string // accept, drop, continue, return, jump, goto, queue
	Chain string
}

// Wildcard is the catch-all element "*".
type Wildcard struct{ Pos Pos }

func (e *Selector) Position() Pos  { return e.Pos }
func (e *Value) Position() Pos     { return e.Pos }
func (e *Prefix) Position() Pos    { return e.Pos }
func (e *Range) Position() Pos     { return e.Pos }
func (e *SetExpr) Position() Pos   { return e.Pos }
func (e *SetRef) Position() Pos    { return e.Pos }
func (e *Concat) Position() Pos    { return e.Pos }
func (e *List) Position() Pos      { return e.Pos }
func (e *Binop) Position() Pos     { return e.Pos }
func (e *MapLookup) Position() Pos { return e.Pos }
func (e *MapElem) Position() Pos   { return e.Pos }
func (e *Elem) Position() Pos      { return e.Pos }
func (e *Verdict) Position() Pos   { return e.Pos }
func (e *Wildcard) Position() Pos  { return e.Pos }

func (*Selector) exprNode()  {}
func (*Value) exprNode()     {}
func (*Prefix) exprNode()    {}
func (*Range) exprNode()     {}
func (*SetExpr) exprNode()   {}
func (*SetRef) exprNode()    {}
func (*Concat) exprNode()    {}
func (*List) exprNode()      {}
func (*Binop) exprNode()     {}
func (*MapLookup) exprNode() {}
func (*MapElem) exprNode()   {}
func (*Elem) exprNode()      {}
func (*Verdict) exprNode()   {}
func (*Wildcard) exprNode()  {}

// Stmt is a rule statement.
type Stmt interface {
	Position() Pos
	stmtNode()
}

// Match compares X with Y; Op is "" (implicit: equality, or membership
// for sets and flag lists), "==", "!=", "<", ">", "<=", ">=".
type Match struct {
	Pos  Pos
	Op   string
	X, Y Expr
}

// VerdictStmt is a verdict: accept, drop, jump CHAIN, ...
type VerdictStmt struct {
	Verdict
}

// VmapStmt is X vmap M.
type VmapStmt struct {
	Pos Pos
	X   Expr
	Map Expr
}

// CounterStmt is counter [packets N bytes M], or counter name NAME.
type CounterStmt struct {
	Pos     Pos
	Name    Expr
	Packets uint64
	Bytes   uint64
}

// Option is one key [value] of a statement such as log.
type Option struct {
	Key   string
	Value Expr
}

// LogStmt is log with its options in source order.
type LogStmt struct {
	Pos  Pos
	Opts []Option
}

// LimitStmt is limit rate [over] Rate/Unit [burst N packets|bytes].
type LimitStmt struct {
	Pos       Pos
	Over      bool
	Rate      uint64
	RateUnit  string // "" for packets, else bytes, kbytes, mbytes
	Per       string // second, minute, hour, day, week
	Burst     uint64
	BurstUnit string
	Name      Expr // limit name X
}

// QuotaStmt is quota [over|until] N unit [used N unit].
type QuotaStmt struct {
	Pos   Pos
	Over  bool
	Bytes uint64
	Used  uint64
	Name  Expr
}

// RejectStmt is reject [with icmp|icmpv6|icmpx TYPE | with tcp reset].
type RejectStmt struct {
	Pos  Pos
	With string // "", icmp, icmpv6, icmpx, tcp
	Type Expr
}

// NatStmt is snat, dnat, masquerade or redirect.
type NatStmt struct {
	Pos    Pos
	Kind   string
	Family string // "ip", "ip6" or ""
	Addr   Expr
	Port   Expr
	Flags  []string
	Prefix bool // "prefix to"
}

// SetStmt assigns a field: meta mark set X, ct mark set X.
type SetStmt struct {
	Pos Pos
	Key *Selector
	Val Expr
}

// DynsetStmt is add|update|delete @set { key [stmts] }.
type DynsetStmt struct {
	Pos     Pos
	Op      string
	Set     string
	Key     Expr
	Stmts   []Stmt
	Timeout string
}

// MeterStmt is meter NAME [size N] { key [timeout T] stmts }: a dynamic
// set private to the rule, updated from the packet path. Size 0 means the
// kernel default (65535, printed).
type MeterStmt struct {
	Pos     Pos
	Name    string
	Size    uint64
	Key     Expr
	Timeout string
	Stmts   []Stmt
}

// TproxyStmt is tproxy [ip|ip6] to [addr][:port] (nft_tproxy).
type TproxyStmt struct {
	Pos    Pos
	Family string // "ip", "ip6" or ""
	Addr   Expr
	Port   Expr
}

// CtCountStmt is ct count [over] N (nft_connlimit).
type CtCountStmt struct {
	Pos   Pos
	Over  bool
	Count uint64
}

// SimpleStmt is a keyword statement without operands (notrack).
type SimpleStmt struct {
	Pos  Pos
	Word string
}

// RawStmt is a statement this parser does not model yet. Words are its
// tokens; the printer emits them joined by spaces.
type RawStmt struct {
	Pos   Pos
	Words []string
}

func (s *Match) Position() Pos       { return s.Pos }
func (s *VerdictStmt) Position() Pos { return s.Pos }
func (s *VmapStmt) Position() Pos    { return s.Pos }
func (s *CounterStmt) Position() Pos { return s.Pos }
func (s *LogStmt) Position() Pos     { return s.Pos }
func (s *LimitStmt) Position() Pos   { return s.Pos }
func (s *QuotaStmt) Position() Pos   { return s.Pos }
func (s *RejectStmt) Position() Pos  { return s.Pos }
func (s *NatStmt) Position() Pos     { return s.Pos }
func (s *SetStmt) Position() Pos     { return s.Pos }
func (s *DynsetStmt) Position() Pos  { return s.Pos }
func (s *MeterStmt) Position() Pos   { return s.Pos }
func (s *SimpleStmt) Position() Pos  { return s.Pos }
func (s *TproxyStmt) Position() Pos  { return s.Pos }
func (s *CtCountStmt) Position() Pos { return s.Pos }
func (s *RawStmt) Position() Pos     { return s.Pos }

func (*Match) stmtNode()       {}
func (*VerdictStmt) stmtNode() {}
func (*VmapStmt) stmtNode()    {}
func (*CounterStmt) stmtNode() {}
func (*LogStmt) stmtNode()     {}
func (*LimitStmt) stmtNode()   {}
func (*QuotaStmt) stmtNode()   {}
func (*RejectStmt) stmtNode()  {}
func (*NatStmt) stmtNode()     {}
func (*SetStmt) stmtNode()     {}
func (*DynsetStmt) stmtNode()  {}
func (*MeterStmt) stmtNode()   {}
func (*SimpleStmt) stmtNode()  {}
func (*TproxyStmt) stmtNode()  {}
func (*CtCountStmt) stmtNode() {}
func (*RawStmt) stmtNode()     {}
