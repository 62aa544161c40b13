// Package conntrack is a connection tracker for IPv4 and IPv6 that behaves
// like Linux's nf_conntrack: the same states (new, established, related,
// invalid, untracked), the same status bits, TCP state machine and window
// tracking, per-protocol timeouts and settings named as the kernel's
// sysctls, byte and packet counters per direction, and NEW/UPDATE/DESTROY
// events. Where it differs from Linux, DIFFERENCES.md at the repository
// root says so and why.
//
// # One packet
//
// A worker decodes a packet (package packet), reassembles fragments
// (package defrag), then calls Table.Track with the decoded packet, the
// conntrack zone and the time, read once per batch. Track fills a Result:
// the ct state, the direction, the entry, and for an invalid packet a
// Reason that explains it (Linux mostly logs nothing; hare always says why).
// A packet that opens a connection leaves its entry pending; Confirm puts it
// in the table once the packet is accepted, as Linux does at
// nf_conntrack_confirm after the filter hooks. Process does both, for
// callers without rules. None of this allocates.
//
// # The table
//
// The table is split into shards (a power of two, at least four per CPU).
// Each shard has a mutex, an index (a Go map from Tuple to slot number) and
// an array of entries. A connection lives in one shard, chosen by a hash of
// its original tuple that is symmetric in the two endpoints, so the reply
// tuple hashes to the same shard; both tuples are keys of that shard's
// index.
//
// Lock order: there is none to keep, because no code path holds two locks
// of this package at once. A packet takes its shard's lock once; early drop
// and Reap visit shards one after the other, releasing each before taking
// the next; events are published after the shard lock is released, and the
// event bus's lock is never held while a shard lock is taken.
//
// Entries and the index hold no pointers, so the garbage collector never
// scans them, whatever the table's size.
//
// # Time
//
// The caller supplies the time (nanoseconds on any monotonic clock; a
// replay uses the capture's timestamps). Entries expire at their deadline:
// a lookup that finds an expired entry destroys it first (Linux
// nf_ct_is_expired), and Reap removes expired entries in bounded steps,
// resuming where it stopped, like the kernel's gc worker — never a
// stop-the-world sweep.
//
// # Full table
//
// Settings max bounds the table (nf_conntrack_max). When it is full, a new
// connection evicts an expired or unassured entry (Linux early_drop, but
// looking at every shard in turn rather than 8 buckets); when none can be
// found the packet is dropped with ReasonTableFull. Both are counted in
// Stats (EarlyDrop, Drop): never silent.
//
// # Saving and restoring
//
// Save (SaveFile) writes every entry, with all of its tracking state, to a
// versioned, checksummed file; Restore (RestoreFile) loads one into a table
// all or nothing, each entry keeping the time it had left (persist.go).
// A daemon saves when it stops and restores when it starts, so a restart
// drops no established connection.
package conntrack
