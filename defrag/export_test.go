package defrag

import (
	"fmt"
	"math/bits"
)

// Check verifies the Reassembler's internal invariants: list links and
// counts, map membership, memory accounting, and each queue's store
// against its totals. Tests call it after every Add.
func Check(r *Reassembler) error {
	total := 0
	for i := range r.fam {
		f := &r.fam[i]
		if f.mem < 0 {
			return fmt.Errorf("family %d: memory %d", i, f.mem)
		}
		n, mem := 0, int64(0)
		var prev *queue
		for q := f.oldest; q != nil; q = q.next {
			if q.prev != prev || q.fam != f {
				return fmt.Errorf("family %d: broken links at queue %d", i, n)
			}
			if prev != nil && q.created < prev.created {
				return fmt.Errorf("family %d: queue %d created before its predecessor", i, n)
			}
			if r.queues[q.key] != q {
				return fmt.Errorf("family %d: queue %d not in the map", i, n)
			}
			if err := checkQueue(q); err != nil {
				return fmt.Errorf("family %d queue %d: %w", i, n, err)
			}
			mem += q.mem
			prev = q
			n++
		}
		if prev != f.newest {
			return fmt.Errorf("family %d: newest is not the last queue", i)
		}
		if n != f.n || mem != f.mem {
			return fmt.Errorf("family %d: %d queues holding %d bytes, counted %d and %d", i, n, mem, f.n, f.mem)
		}
		total += n
	}
	if total != len(r.queues) {
		return fmt.Errorf("%d queues in lists, %d in the map", total, len(r.queues))
	}
	if len(r.freeQueues) > poolMax || len(r.freeStores) > poolMax {
		return fmt.Errorf("pools over their bound: %d queues, %d stores", len(r.freeQueues), len(r.freeStores))
	}
	return nil
}

func checkQueue(q *queue) error {
	if q.dead {
		if q.st != nil || q.mem != queueCost {
			return fmt.Errorf("tombstone holds a store or %d bytes", q.mem)
		}
		return nil
	}
	if q.st == nil {
		if q.meat != 0 || q.mem != queueCost {
			return fmt.Errorf("no store but %d bytes of payload, %d charged", q.meat, q.mem)
		}
		return nil
	}
	st := q.st
	meat, units := 0, 0
	for _, f := range st.frags {
		if f.off < 0 || f.end <= f.off || f.off%8 != 0 {
			return fmt.Errorf("bad fragment [%d,%d)", f.off, f.end)
		}
		meat += int(f.end - f.off)
		units += int(f.end+7)/8 - int(f.off)/8
	}
	set := 0
	for _, w := range st.covered {
		set += bits.OnesCount64(w)
	}
	if meat != q.meat || set != units {
		return fmt.Errorf("%d bytes and %d units held, counted %d and %d", meat, units, q.meat, set)
	}
	if q.len < q.meat && q.last {
		return fmt.Errorf("length %d below payload held %d", q.len, q.meat)
	}
	min := int64(queueCost) + int64(len(st.frags))*fragCost + int64(len(st.covered))*wordCost
	if q.mem < min {
		return fmt.Errorf("charged %d, below the %d its store needs", q.mem, min)
	}
	return nil
}
