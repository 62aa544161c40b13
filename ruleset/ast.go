package ruleset

// Family is an nftables address family. The zero value is invalid.
type Family uint8

// Families, in the order nft lists them.
const (
	FamilyUnknown Family = iota
	FamilyIP
	FamilyARP
	FamilyIP6
	FamilyBridge
	FamilyInet
	FamilyNetdev
)

var familyNames = [...]string{"unknown", "ip", "arp", "ip6", "bridge", "inet", "netdev"}

// String returns the family's keyword, such as "inet".
func (f Family) String() string {
	if int(f) < len(familyNames) {
		return familyNames[f]
	}
	return "unknown"
}

// IsEvaluable reports whether hare can evaluate rules of family f (ip, ip6,
// inet). The others parse and print but are refused by the compiler.
func (f Family) IsEvaluable() bool { return f == FamilyIP || f == FamilyIP6 || f == FamilyInet }

func familyFromString(s string) Family {
	for i, n := range familyNames {
		if i > 0 && n == s {
			return Family(i)
		}
	}
	return FamilyUnknown
}

// File is one parsed source (after include and define expansion): its
// commands in source order. A table block is a single Command.
type File struct {
	Commands []*Command

	// srcs holds the text of every file read, for error carets.
	srcs map[string][]byte
}

// Command is one top-level command: a table block (Verb "" and Kind
// "table"), or an add/create/insert/replace/delete/destroy/flush command.
type Command struct {
	Pos    Pos
	Verb   string // "", add, create, insert, replace, delete, destroy, flush
	Kind   string // ruleset, table, chain, rule, set, map, element, counter, quota, limit, ct helper, ...
	Family Family
	Table  string
	Chain  string // chain of a rule command; chain name of chain commands
	Name   string // set/map/object name
	Handle uint64 // "handle N" of delete/replace, or position
	Index  int    // "index N"; -1 when absent
	HasPos bool   // "position N" was given (Handle holds it)

	TableBody *Table  // Kind table: the declarations
	ChainBody *Chain  // Kind chain
	Rule      *Rule   // Kind rule
	Set       *Set    // Kind set, map
	Object    *Object // named objects
	Elems     []Expr  // Kind element
}

// Table is a table declaration and, after Apply, a table of the ruleset.
type Table struct {
	Pos        Pos
	Family     Family
	Name       string
	Handle     uint64
	Flags      []string
	Comment    string
	Chains     []*Chain
	Sets       []*Set
	Objects    []*Object
	Flowtables []*Flowtable

	// Commands holds declarations inside a table block in source order,
	// before Apply sorts them into the lists above.
	Commands []*Command

	nextHandle uint64
}

// Priority is a base chain priority: a number, or a standard name plus an
// offset ("filter - 5").
type Priority struct {
	Name   string // "" for a plain number
	Offset int
}

// Chain is a chain. Base chains have Type and Hook set.
type Chain struct {
	Pos      Pos
	Name     string
	Handle   uint64
	Type     string // filter, nat, route; "" for a regular chain
	Hook     string
	Devices  []Expr
	Priority Priority
	Policy   string // accept, drop; "" means unspecified (prints accept)
	Comment  string
	// HasComment is set by a comment clause, even an empty one (nft
	// lists comment "" then).
	HasComment bool
	Rules      []*Rule
}

// IsBase reports whether c is a base chain.
func (c *Chain) IsBase() bool { return c.Hook != "" }

// Rule is a rule: a list of statements, with its comment and handle.
type Rule struct {
	Pos     Pos
	Stmts   []Stmt
	Comment string
	Handle  uint64
}

// Set is a named set or map.
type Set struct {
	Pos            Pos
	Name           string
	IsMap          bool
	Handle         uint64
	Key            []string // type words, one per concatenated part
	KeyTypeof      Expr     // typeof expression instead of Key
	Data           string   // map data type ("verdict", "ipv4_addr", ...)
	DataTypeof     Expr
	DataIsInterval bool
	Flags          []string
	Timeout        string
	GCInterval     string
	Size           uint64
	Policy         string
	AutoMerge      bool
	Counter        bool
	Stmts          []Stmt // stateful statements of every element (counter, quota, limit)
	Comment        string
	Elems          []Expr
}

// Object is a named stateful object (counter, quota, limit, ct helper, ct
// timeout, ct expectation, synproxy, secmark). Fields holds its body
// statements in order, as word lists.
type Object struct {
	Pos     Pos
	Kind    string
	Name    string
	Handle  uint64
	Comment string
	Fields  [][]string
	// Packets and Bytes (a counter) and Used (a quota's bytes consumed)
	// are the object's state as a listing prints it: 0 as read from a
	// file; the engine's values when the control API lists a running
	// ruleset.
	Packets, Bytes, Used uint64
}

// Flowtable is a flowtable declaration; kept for printing only.
type Flowtable struct {
	Pos      Pos
	Name     string
	Handle   uint64
	Hook     string
	Priority Priority
	Devices  []Expr
	Counter  bool
}
