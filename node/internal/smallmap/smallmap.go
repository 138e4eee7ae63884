// Package smallmap is a map from string keys that is a slice of pairs
// while it is small. It is a memory optimisation for per-chat state held
// on nodes with tens of thousands of connections, not a general container:
// it is not safe for concurrent use and iterates in no particular order.
package smallmap

import "iter"

// max is the size up to which a Map is a slice.
const max = 16

// Map is a map from string keys that is a slice of pairs while it is
// small. There is one per chat with local members (its local users) and
// one per chat with online guests (the presence view's index), so most
// are rooms of a few members: a Go map of ten entries costs about 1.4 KB,
// a slice of ten pairs a quarter of that. Past 16 entries it becomes a
// map, so that big rooms keep constant-time updates, and back to a slice
// when it has shrunk to half of that.
//
// The zero value is empty and ready. A Map is not safe for concurrent use.
type Map[V any] struct {
	small []entry[V]
	big   map[string]V
}

type entry[V any] struct {
	key string
	val V
}

// Len returns the number of entries.
func (m *Map[V]) Len() int {
	if m.big != nil {
		return len(m.big)
	}
	return len(m.small)
}

// Get returns the value of key and whether it was there.
func (m *Map[V]) Get(key string) (V, bool) {
	if m.big != nil {
		v, ok := m.big[key]
		return v, ok
	}
	for i := range m.small {
		if m.small[i].key == key {
			return m.small[i].val, true
		}
	}
	var zero V
	return zero, false
}

// Set sets key's value.
func (m *Map[V]) Set(key string, val V) {
	if m.big != nil {
		m.big[key] = val
		return
	}
	for i := range m.small {
		if m.small[i].key == key {
			m.small[i].val = val
			return
		}
	}
	if len(m.small) < max {
		m.small = append(m.small, entry[V]{key, val})
		return
	}
	m.big = make(map[string]V, 2*max)
	for _, e := range m.small {
		m.big[e.key] = e.val
	}
	m.big[key] = val
	m.small = nil
}

// Delete removes key, if present.
func (m *Map[V]) Delete(key string) {
	if m.big != nil {
		delete(m.big, key)
		if len(m.big) <= max/2 {
			m.small = make([]entry[V], 0, len(m.big))
			for k, v := range m.big {
				m.small = append(m.small, entry[V]{k, v})
			}
			m.big = nil
		}
		return
	}
	for i := range m.small {
		if m.small[i].key == key {
			last := len(m.small) - 1
			m.small[i] = m.small[last]
			m.small[last] = entry[V]{}
			m.small = m.small[:last]
			return
		}
	}
}

// All yields every entry, in no particular order. m must not change
// during the iteration.
func (m *Map[V]) All() iter.Seq2[string, V] {
	return func(yield func(string, V) bool) {
		if m.big != nil {
			for k, v := range m.big {
				if !yield(k, v) {
					return
				}
			}
			return
		}
		for _, e := range m.small {
			if !yield(e.key, e.val) {
				return
			}
		}
	}
}
