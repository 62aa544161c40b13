package engine

import (
	mbits "math/bits"
	"sync"

	"github.com/hare-fw/hare/ruleset"
)

// limiter is the token bucket of one limit statement or named limit
// object, as Linux nft_limit keeps it: tokens are nanoseconds of credit,
// a packet (or a byte) costs nsecs/rate of them, and the bucket holds at
// most tokensMax. Time is the caller's clock (the now of Engine.Packet),
// so a replay gives the same answers however fast it runs.
//
// A small mutex per limiter guards last and tokens (the kernel's
// per-limit spinlock): two fields updated together, and no lock shared
// between limits.
type limiter struct {
	mu      sync.Mutex
	started bool
	last    uint64 // ns, the caller's clock at the last evaluation
	tokens  uint64 // ns of credit

	tokensMax uint64
	rate      uint64 // packets or bytes per unit
	nsecs     uint64 // the unit in ns
	cost      uint64 // packets: ns per packet; bytes: 0 (per packet, from its length)
	bytes     bool
	invert    bool // over
}

// nftLimitPktBurstDefault is NFT_LIMIT_PKT_BURST_DEFAULT: the burst of a
// packet limit written without one.
const nftLimitPktBurstDefault = 5

// limitUnits are the seconds of nft's rate units.
var limitUnits = map[string]uint64{"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 604800}

// byteUnits are the multipliers of nft's byte units.
var byteUnits = map[string]uint64{"bytes": 1, "kbytes": 1 << 10, "mbytes": 1 << 20, "gbytes": 1 << 30}

// newLimiter builds a limiter from a limit statement as nft encodes it and
// nft_limit_init checks it: rate and burst in packets or bytes, the unit in
// seconds, overflows refused (EOVERFLOW) as the kernel refuses them.
func newLimiter(s *ruleset.LimitStmt) (*limiter, error) {
	unit, ok := limitUnits[s.Per]
	if !ok {
		return nil, &Error{s.Pos, sprintf("limit: unknown time unit %q", s.Per)}
	}
	l := &limiter{invert: s.Over, rate: s.Rate}
	burst := s.Burst
	if s.RateUnit != "" {
		l.bytes = true
		m := byteUnits[s.RateUnit]
		hi, lo := mbits.Mul64(s.Rate, m)
		if hi != 0 {
			return nil, &Error{s.Pos, "limit: rate overflows"}
		}
		l.rate = lo
		switch s.BurstUnit {
		case "", "bytes", "kbytes", "mbytes", "gbytes":
			if s.BurstUnit != "" {
				hi, burst = mbits.Mul64(burst, byteUnits[s.BurstUnit])
				if hi != 0 {
					return nil, &Error{s.Pos, "limit: burst overflows"}
				}
			}
		default:
			return nil, &Error{s.Pos, "limit: a byte rate needs a burst in bytes, not " + s.BurstUnit}
		}
	} else if s.BurstUnit != "" && s.BurstUnit != "packets" {
		return nil, &Error{s.Pos, "limit: a packet rate needs a burst in packets, not " + s.BurstUnit}
	}
	// nft_limit_init from here.
	if l.rate == 0 {
		return nil, &Error{s.Pos, "limit: rate 0 (the kernel refuses it: EINVAL)"}
	}
	hi, nsecs := mbits.Mul64(unit, 1e9)
	if hi != 0 {
		return nil, &Error{s.Pos, "limit: unit overflows"}
	}
	l.nsecs = nsecs
	if !l.bytes && burst == 0 {
		burst = nftLimitPktBurstDefault
	}
	if burst > 0xffffffff {
		return nil, &Error{s.Pos, "limit: burst does not fit the kernel's 32 bits"}
	}
	rateWithBurst, carry := mbits.Add64(l.rate, burst, 0)
	if carry != 0 {
		return nil, &Error{s.Pos, "limit: rate + burst overflows (EOVERFLOW)"}
	}
	if !l.bytes {
		tmp := nsecs / l.rate
		hi, l.tokensMax = mbits.Mul64(tmp, burst)
		if hi != 0 {
			return nil, &Error{s.Pos, "limit: burst overflows (EOVERFLOW)"}
		}
		l.cost = tmp // nft_limit_pkts_init
	} else {
		// The bucket holds unit × (rate + burst) / rate: one unit's
		// worth of the rate plus the burst.
		hi, tmp := mbits.Mul64(nsecs, rateWithBurst)
		if hi != 0 {
			return nil, &Error{s.Pos, "limit: rate × unit overflows (EOVERFLOW)"}
		}
		l.tokensMax = tmp / l.rate
	}
	l.tokens = l.tokensMax
	return l, nil
}

// breaks runs the bucket for a packet of length bytes at now and reports
// whether the rule stops here (nft_limit_eval returning true: NFT_BREAK).
// Without `over` a packet within the rate goes on; with it, only a packet
// above the rate goes on.
//
// The kernel starts the clock when the rule is loaded, with a full
// bucket; credit beyond tokensMax is dropped, so starting at the first
// packet instead gives the same answers for any load time before it. A
// clock that goes backwards (it cannot in the kernel) adds no credit.
func (l *limiter) breaks(now int64, length uint32) bool {
	cost := l.cost
	if l.bytes {
		cost = l.nsecs * uint64(length) / l.rate // nft_limit_bytes_eval (u64, wraps as the kernel's does)
	}
	t := uint64(now)
	l.mu.Lock()
	if !l.started {
		l.started, l.last = true, t
	}
	tokens := l.tokens
	if t > l.last {
		tokens += t - l.last
	}
	if tokens > l.tokensMax {
		tokens = l.tokensMax
	}
	l.last = max(l.last, t)
	if delta := int64(tokens - cost); delta >= 0 {
		l.tokens = uint64(delta)
		l.mu.Unlock()
		return l.invert
	}
	l.tokens = tokens
	l.mu.Unlock()
	return !l.invert
}
