package engine

// Verdict is the fate of a packet. The zero value means no verdict yet.
type Verdict uint8

// Verdicts (the project-wide vocabulary).
const (
	noVerdict Verdict = iota
	Accept
	Drop
	Reject
)

var verdictNames = [...]string{"none", "accept", "drop", "reject"}

// String returns "accept", "drop" or "reject".
func (v Verdict) String() string {
	if int(v) < len(verdictNames) {
		return verdictNames[v]
	}
	return "unknown"
}

// Decider says what produced a verdict.
type Decider uint8

const (
	// DecidedNone: no base chain decided (no chain on the hooks, or every
	// chain fell through to an accept policy... see ByPolicy).
	DecidedNone      Decider = iota
	DecidedRule              // a rule's verdict statement (Result.Rule)
	DecidedPolicy            // a base chain's policy (Result.Chain)
	DecidedConntrack         // conntrack dropped it: table full (Linux NF_DROP in nf_conntrack_in)
	DecidedRouting           // no local route (Meta.NoRoute): dropped between prerouting and input
)

var deciderNames = [...]string{"none", "rule", "policy", "conntrack", "routing"}

func (d Decider) String() string {
	if int(d) < len(deciderNames) {
		return deciderNames[d]
	}
	return "unknown"
}
