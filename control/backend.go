package control

import (
	"github.com/hare-fw/hare/conntrack"
	"github.com/hare-fw/hare/engine"
)

// Backend is what the server operates on: the daemon's live objects, which
// it fills in before Listen and does not change afterwards. A nil field
// turns its operations off (they answer 501 Not Implemented); every
// operation is safe while packets flow, because each of these types is
// safe for concurrent use.
type Backend struct {
	// Table is the connection table: list, get, delete, flush,
	// statistics (conntrack -L, -G, -D, -F, -S, -C).
	Table *conntrack.Table
	// Events is the table's event bus (conntrack -E).
	Events *conntrack.Events
	// Engine runs the ruleset: list it, change it with nft commands
	// (engine.Engine.Apply), read its counters.
	Engine *engine.Engine
	// Now returns the table clock (ns): the clock of the entries'
	// Start, Deadline and of the events (see the daemon's clock).
	// Required with Table.
	Now func() int64
	// Reload reloads the configuration and ruleset from disk as SIGHUP
	// does, returning why it refused to; nil: no reload by API.
	Reload func() error
	// Stats returns the daemon's own statistics (workers, datapath
	// drops…), served as JSON as it is; nil: none.
	Stats func() any
	// Trace carries `nft monitor trace` lines from the workers to the
	// trace streams; nil: no trace stream. See TraceHub for the
	// daemon's side.
	Trace *TraceHub
}
