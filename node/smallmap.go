package node

import "iter"

// smallMapMax is the size up to which a smallMap is a slice.
const smallMapMax = 16

// smallMap is a map from string keys that is a slice of pairs while it is
// small. There is one per chat with local members (its local users) and
// one per chat with online guests (the presence view's index), so most
// are rooms of a few members: a Go map of ten entries costs about 1.4 KB,
// a slice of ten pairs a quarter of that. Past smallMapMax entries it
// becomes a map, so that big rooms keep constant-time updates, and back
// to a slice when it has shrunk to half of that.
//
// The zero value is empty and ready. A smallMap is not safe for
// concurrent use.
type smallMap[V any] struct {
	small []smallEntry[V]
	big   map[string]V
}

type smallEntry[V any] struct {
	key string
	val V
}

func (m *smallMap[V]) len() int {
	if m.big != nil {
		return len(m.big)
	}
	return len(m.small)
}

func (m *smallMap[V]) get(key string) (V, bool) {
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

func (m *smallMap[V]) set(key string, val V) {
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
	if len(m.small) < smallMapMax {
		m.small = append(m.small, smallEntry[V]{key, val})
		return
	}
	m.big = make(map[string]V, 2*smallMapMax)
	for _, e := range m.small {
		m.big[e.key] = e.val
	}
	m.big[key] = val
	m.small = nil
}

func (m *smallMap[V]) delete(key string) {
	if m.big != nil {
		delete(m.big, key)
		if len(m.big) <= smallMapMax/2 {
			m.small = make([]smallEntry[V], 0, len(m.big))
			for k, v := range m.big {
				m.small = append(m.small, smallEntry[V]{k, v})
			}
			m.big = nil
		}
		return
	}
	for i := range m.small {
		if m.small[i].key == key {
			last := len(m.small) - 1
			m.small[i] = m.small[last]
			m.small[last] = smallEntry[V]{}
			m.small = m.small[:last]
			return
		}
	}
}

// all yields every entry, in no particular order. m must not change
// during the iteration.
func (m *smallMap[V]) all() iter.Seq2[string, V] {
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
