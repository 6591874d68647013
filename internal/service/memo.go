package service

import (
	"hash/maphash"
	"sync/atomic"

	pb "github.com/cloudcockpit/cloudcockpit-facade/gen/cloudcockpit/v1"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/rest"
)

// mappingMemo remembers the message mapped from each of the last upstream
// results it saw. Callers whose identical calls were coalesced receive the
// same *rest.Reseller (read-only, shared); the first of them maps it and
// the others return the same *pb.Reseller, which gRPC and the REST mirror
// only read. Mapping again for each of 64 waiters was 6% of the CPU of a
// coalesced call, and more in garbage collection.
//
// It is a small direct-mapped table: a slot holds one result and its
// message, and a new result replaces whatever its slot held. A slot keeps
// its result reachable, so an address can never be reused by another
// result while the slot names it. Unknown enum values are logged by the
// mapping, so once per shared result.
type mappingMemo struct {
	seed  maphash.Seed
	slots [memoSlots]atomic.Pointer[memoEntry]
}

// memoSlots is the number of results the memo holds at most.
const memoSlots = 64

type memoEntry struct {
	src *rest.Reseller
	dst *pb.Reseller
}

func newMappingMemo() *mappingMemo {
	return &mappingMemo{seed: maphash.MakeSeed()}
}

// get returns the message mapped from src, mapping it with mapFn the first
// time.
func (m *mappingMemo) get(src *rest.Reseller, mapFn func(*rest.Reseller) *pb.Reseller) *pb.Reseller {
	slot := &m.slots[maphash.Comparable(m.seed, src)%memoSlots]
	if e := slot.Load(); e != nil && e.src == src {
		return e.dst
	}
	dst := mapFn(src)
	slot.Store(&memoEntry{src: src, dst: dst})
	return dst
}
