package chat

import (
	"context"
	"sync"

	"github.com/natterchat/natter/store"
)

// chatCacheMax bounds the chats a node keeps: past it an arbitrary one
// is forgotten (and read again when asked for).
const chatCacheMax = 1 << 16

// chatCache keeps chats by id and public rooms' ids by name. A chat's id,
// name and kind never change once it exists (there is no rename and no
// delete), so a cached chat is never stale, and a send to a known chat or
// a join of a known room costs no storage round trip. A chat not cached
// yet (made a moment ago on another node) is read from the store.
type chatCache struct {
	mu     sync.RWMutex
	byID   map[string]store.Chat // guarded by mu
	byRoom map[string]string     // guarded by mu: public room name -> id
}

func newChatCache() *chatCache {
	return &chatCache{byID: make(map[string]store.Chat), byRoom: make(map[string]string)}
}

// chat returns the cached chat with this id.
func (cc *chatCache) chat(id string) (store.Chat, bool) {
	cc.mu.RLock()
	defer cc.mu.RUnlock()
	c, ok := cc.byID[id]
	return c, ok
}

// room returns the cached public room with this name.
func (cc *chatCache) room(name string) (store.Chat, bool) {
	cc.mu.RLock()
	defer cc.mu.RUnlock()
	id, ok := cc.byRoom[name]
	if !ok {
		return store.Chat{}, false
	}
	c, ok := cc.byID[id]
	return c, ok
}

// add keeps c.
func (cc *chatCache) add(c store.Chat) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if _, ok := cc.byID[c.ID]; !ok && len(cc.byID) >= chatCacheMax {
		for id, old := range cc.byID { // forget one, any one
			delete(cc.byID, id)
			if old.Kind == store.Public {
				delete(cc.byRoom, old.Name)
			}
			break
		}
	}
	cc.byID[c.ID] = c
	if c.Kind == store.Public {
		cc.byRoom[c.Name] = c.ID
	}
}

// storedChat reads a chat through the cache.
func (s *Service) storedChat(ctx context.Context, id string) (store.Chat, error) {
	if c, ok := s.chats.chat(id); ok {
		return c, nil
	}
	c, err := s.cfg.Store.Chat(ctx, id)
	if err == nil {
		s.chats.add(c)
	}
	return c, err
}

// publicRoom reads a public room by name through the cache.
func (s *Service) publicRoom(ctx context.Context, name string) (store.Chat, error) {
	if c, ok := s.chats.room(name); ok {
		return c, nil
	}
	c, err := s.cfg.Store.PublicRoom(ctx, name)
	if err == nil {
		s.chats.add(c)
	}
	return c, err
}

// ensureRoom returns the public room with this name, creating it if it
// does not exist (created reports that this call made it).
func (s *Service) ensureRoom(ctx context.Context, name, creator string) (c store.Chat, created bool, err error) {
	if c, ok := s.chats.room(name); ok {
		return c, false, nil
	}
	c, created, err = s.cfg.Store.EnsurePublicRoom(ctx, name, creator)
	if err == nil {
		s.chats.add(c)
	}
	return c, created, err
}

// memberCacheMax bounds the chats whose member lists a node keeps; past
// it the cache starts over.
const memberCacheMax = 4096

// memberCache keeps chats' stored member lists, so that a member list
// (one per join) costs no storage round trip. Every node applies every
// membership change of the cluster (ApplyUserEvent), so each one drops the
// chat's list here, and the next member list reads it again. A list read
// from the store is kept only if no change came while it was being read
// (the generation), so a read that raced a change is never kept. A change
// made on another node shows here once its event arrives, a moment later.
// Guests' memberships are not stored and change nothing here.
type memberCache struct {
	mu    sync.Mutex
	lists map[string][]store.Member // guarded by mu
	gens  map[string]uint64         // guarded by mu: changes seen per chat
}

func newMemberCache() *memberCache {
	return &memberCache{lists: make(map[string][]store.Member), gens: make(map[string]uint64)}
}

// get returns chatID's cached list, or the generation to pass to put with
// a list read now.
func (mc *memberCache) get(chatID string) (ms []store.Member, ok bool, gen uint64) {
	mc.mu.Lock()
	defer mc.mu.Unlock()
	if ms, ok := mc.lists[chatID]; ok {
		return ms, true, 0
	}
	g, seen := mc.gens[chatID]
	if !seen {
		mc.gens[chatID] = 0
	}
	return nil, false, g
}

// put keeps ms as chatID's list unless a change came since get gave gen.
func (mc *memberCache) put(chatID string, gen uint64, ms []store.Member) {
	mc.mu.Lock()
	defer mc.mu.Unlock()
	if g, seen := mc.gens[chatID]; !seen || g != gen {
		return
	}
	if len(mc.lists) >= memberCacheMax {
		clear(mc.lists)
		clear(mc.gens)
		return
	}
	if ms == nil {
		ms = []store.Member{} // cached and empty, not absent
	}
	mc.lists[chatID] = ms
}

// changed drops chatID's list: a member joined or left.
func (mc *memberCache) changed(chatID string) {
	mc.mu.Lock()
	defer mc.mu.Unlock()
	if g, seen := mc.gens[chatID]; seen {
		mc.gens[chatID] = g + 1
		delete(mc.lists, chatID)
	}
}

// storedMembers reads a chat's stored members through the cache. The
// list is shared: callers do not change it.
func (s *Service) storedMembers(ctx context.Context, chatID string) ([]store.Member, error) {
	ms, ok, gen := s.members.get(chatID)
	if ok {
		return ms, nil
	}
	ms, err := s.cfg.Store.Members(ctx, chatID)
	if err == nil {
		s.members.put(chatID, gen, ms)
	}
	return ms, err
}
