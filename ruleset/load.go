package ruleset

// LoadFile reads a ruleset file as `nft -f NAME` would: ParseFile, Build
// on an empty ruleset, then Check, so what nft refuses to load is refused
// with nft's message and position. It is what hare ruleset check, hare
// replay --rules and hare run all load.
func LoadFile(name string) (*Ruleset, error) {
	f, err := ParseFile(name)
	if err != nil {
		return nil, err
	}
	rs, err := Build(f)
	if err != nil {
		return nil, err
	}
	if err := Check(rs); err != nil {
		return nil, err
	}
	return rs, nil
}
