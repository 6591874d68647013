package main

import (
	"math"
	"math/bits"
	"time"
)

// The histogram is log-linear, like HdrHistogram: values below 2^subBits
// nanoseconds have a bucket each; above, every power of two is split into
// 2^(subBits-1) buckets, so a bucket is never wider than 1/128 (0.8%) of
// the values it holds. Recording is an index computation and an increment:
// each load-generator worker owns one histogram, so nothing is shared.
const (
	subBits    = 8
	subCount   = 1 << subBits // 256
	halfCount  = subCount / 2 // 128
	maxShift   = 40 - subBits // values up to 2^40 ns (about 18 minutes)
	numBuckets = subCount + maxShift*halfCount
)

// histogram counts durations in log-linear buckets. The zero value is empty
// and ready to use.
type histogram struct {
	counts [numBuckets]uint32
	n      uint64
	sum    uint64 // nanoseconds
	max    uint64
}

// bucketOf returns the bucket index of v nanoseconds.
func bucketOf(v uint64) int {
	if v < subCount {
		return int(v)
	}
	shift := bits.Len64(v) - subBits // ≥ 1
	if shift > maxShift {
		return numBuckets - 1
	}
	mantissa := v >> shift                                          // in [halfCount, subCount)
	return subCount + (shift-1)*halfCount + int(mantissa-halfCount) //nolint:gosec // G115: mantissa-halfCount < 128
}

// bucketMid returns the middle of bucket i, in nanoseconds.
func bucketMid(i int) uint64 {
	if i < subCount {
		return uint64(i) //nolint:gosec // G115: 0 ≤ i < 256
	}
	shift := (i-subCount)/halfCount + 1
	mantissa := uint64((i-subCount)%halfCount + halfCount)
	lo := mantissa << shift
	return lo + (uint64(1)<<shift)/2
}

// record adds one duration.
func (h *histogram) record(d time.Duration) {
	v := uint64(max(d, 0))
	h.counts[bucketOf(v)]++
	h.n++
	h.sum += v
	h.max = max(h.max, v)
}

// merge adds o's counts to h.
func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.sum += o.sum
	h.max = max(h.max, o.max)
}

// quantile returns the duration below which a fraction q of the values lie
// (to the bucket's precision); 0 when h is empty.
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n) + 0.5)
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for i, c := range h.counts {
		seen += uint64(c)
		if seen >= rank {
			return toDuration(min(bucketMid(i), h.max))
		}
	}
	return toDuration(h.max)
}

// mean returns the average duration; 0 when h is empty.
func (h *histogram) mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return toDuration(h.sum / h.n)
}

// toDuration converts nanoseconds to a Duration; min keeps the conversion in
// range whatever was recorded.
func toDuration(ns uint64) time.Duration {
	return time.Duration(min(ns, math.MaxInt64)) //nolint:gosec // G115: bounded by min
}
