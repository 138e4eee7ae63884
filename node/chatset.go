package node

import "slices"

// chatSet is a small set of chat ids kept as a sorted slice: a user is in
// a handful of chats, and per online user a slice costs a fraction of a
// map (this is per-connection memory on a node with 100k devices).
type chatSet []string

// has reports whether id is in the set.
func (s chatSet) has(id string) bool {
	_, ok := slices.BinarySearch(s, id)
	return ok
}

// add inserts id; it reports false if it was there.
func (s *chatSet) add(id string) bool {
	i, ok := slices.BinarySearch(*s, id)
	if ok {
		return false
	}
	*s = slices.Insert(*s, i, id)
	return true
}

// remove deletes id; it reports false if it was not there.
func (s *chatSet) remove(id string) bool {
	i, ok := slices.BinarySearch(*s, id)
	if !ok {
		return false
	}
	*s = slices.Delete(*s, i, i+1)
	return true
}
