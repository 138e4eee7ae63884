package store

import "hash/fnv"

// MaxStreams bounds Config.Streams: more message streams than that buy
// nothing on any cluster natter is meant for, and each costs a Raft group.
const MaxStreams = 64

// Partition returns which of k message streams holds chatID's messages:
// FNV-1a (32 bits) of the id modulo k. It is the only place that decides,
// and it must never change: a chat's messages are found where this says,
// so a cluster's k is recorded at its first start (see Open) and a
// changed hash would lose every chat's history.
func Partition(chatID string, k int) int {
	if k <= 1 {
		return 0
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(chatID))
	return int(h.Sum32() % uint32(k))
}

// Position is where the message streams stood at one moment: the last
// sequence of each stream, by partition. Sequences of different streams
// are not comparable, so a chat's position is read with Of.
type Position []uint64

// Of returns the position of the stream that holds chatID: every message
// of the chat stored after the position was read has a higher sequence.
// The zero Position is 0 for every chat.
func (p Position) Of(chatID string) uint64 {
	if len(p) == 0 {
		return 0
	}
	return p[Partition(chatID, len(p))]
}
