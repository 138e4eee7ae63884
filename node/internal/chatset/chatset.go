// Package chatset is a small sorted set of chat ids, the per-user chat
// list of the registry and the presence view. It is not safe for
// concurrent use; its owners guard it.
package chatset

import "slices"

// Set is a small set of chat ids kept as a sorted slice: a user is in a
// handful of chats, and per online user a slice costs a fraction of a map
// (this is per-connection memory on a node with 100k devices). The zero
// value is empty and ready.
type Set []string

// Has reports whether id is in the set.
func (s Set) Has(id string) bool {
	_, ok := slices.BinarySearch(s, id)
	return ok
}

// Add inserts id; it reports false if it was there.
func (s *Set) Add(id string) bool {
	i, ok := slices.BinarySearch(*s, id)
	if ok {
		return false
	}
	*s = slices.Insert(*s, i, id)
	return true
}

// Remove deletes id; it reports false if it was not there.
func (s *Set) Remove(id string) bool {
	i, ok := slices.BinarySearch(*s, id)
	if !ok {
		return false
	}
	*s = slices.Delete(*s, i, i+1)
	return true
}
