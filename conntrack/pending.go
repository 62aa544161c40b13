package conntrack

// Pending copies the entry a packet opened, before Confirm inserts it,
// into out. Linux attaches the unconfirmed conntrack to the packet in
// nf_conntrack_in, so the hooks between Track and Confirm see its tuples,
// status and counters (the opening packet already counted). It reports
// false when the packet opened no entry.
func (r *Result) Pending(out *Entry) bool {
	if !r.hasPending {
		return false
	}
	r.pending.snapshot(out)
	return true
}
