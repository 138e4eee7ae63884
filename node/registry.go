package node

import (
	"hash/maphash"
	"slices"
	"sync"
)

// registryShards is the number of shards of each registry map; a power of
// two so that picking one is a mask.
const registryShards = 64

// localUser is a user with at least one device on this node. Its chat set
// is the node's membership cache for that user: sends and reads are
// authorized from it, and it decides which chats this node subscribes to.
type localUser struct {
	// Immutable after creation.
	id    string
	name  string
	guest bool
	// ready opens once chats has been loaded from the store (loadErr
	// says whether that failed); a user's later devices wait on it.
	ready   latch
	loadErr error

	mu      sync.Mutex
	devices []*device // guarded by mu
	chats   chatSet   // guarded by mu
	// Room for the usual one device and one chat (see newLocalUser).
	devBuf  [1]*device
	chatBuf [1]string
}

// newLocalUser returns a user whose first device and first chat need no
// allocation of their own: one object per user, not three, on a node
// where users are counted in tens of thousands.
func newLocalUser(id, name string, guest bool) *localUser {
	u := &localUser{id: id, name: name, guest: guest}
	u.devices, u.chats = u.devBuf[:0], u.chatBuf[:0]
	u.ready.init()
	return u
}

// devicesCopy returns the user's devices; callers work outside the lock.
func (u *localUser) devicesCopy(buf []*device) []*device {
	u.mu.Lock()
	buf = append(buf, u.devices...)
	u.mu.Unlock()
	return buf
}

// isMember reports whether the cache says u is a member of chatID.
func (u *localUser) isMember(chatID string) bool {
	u.mu.Lock()
	ok := u.chats.has(chatID)
	u.mu.Unlock()
	return ok
}

// chatIDs returns the user's cached chats.
func (u *localUser) chatIDs() []string {
	u.mu.Lock()
	ids := slices.Clone(u.chats)
	u.mu.Unlock()
	return ids
}

// sharedDeviceID returns the id string of u's device with this id (id
// itself if it has none), so that other structures can share it.
func (u *localUser) sharedDeviceID(id string) string {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, d := range u.devices {
		if d.id == id {
			return d.id
		}
	}
	return id
}

// localChat is a chat with at least one local member device: while it
// exists, this node is subscribed to the chat's live and event subjects.
type localChat struct {
	id    string
	users smallMap[*localUser] // by user id; guarded by the chat shard's mu
	sub   subscription         // live.chat.<id>; guarded by the chat shard's mu
}

// subscription is the part of *nats.Subscription the registry needs.
type subscription interface{ Unsubscribe() error }

type userShard struct {
	mu    sync.Mutex
	users map[string]*localUser
}

type chatShard struct {
	mu    sync.RWMutex
	chats map[string]*localChat
}

// registry is the node's local view: users -> devices and chats -> local
// member users, sharded by id hash so that connects and fan-outs of
// different users and chats do not contend.
type registry struct {
	seed  maphash.Seed
	users [registryShards]userShard
	chats [registryShards]chatShard
}

func newRegistry() *registry {
	r := &registry{seed: maphash.MakeSeed()}
	for i := range r.users {
		r.users[i].users = make(map[string]*localUser)
		r.chats[i].chats = make(map[string]*localChat)
	}
	return r
}

func (r *registry) shardOf(id string) int {
	return int(maphash.String(r.seed, id) & (registryShards - 1))
}

// addDevice registers d for its user, creating the local user if d is its
// first device here (first reports that; the caller then loads the user's
// chats and opens u.ready). It fails with ok=false when the user already
// has max devices here.
func (r *registry) addDevice(userID, name string, guest bool, d *device, max int) (u *localUser, first, ok bool) {
	s := &r.users[r.shardOf(userID)]
	s.mu.Lock()
	defer s.mu.Unlock()
	u = s.users[userID]
	if u == nil {
		u = newLocalUser(userID, name, guest)
		s.users[userID] = u
		first = true
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.devices) >= max {
		return u, false, false
	}
	u.devices = append(u.devices, d)
	d.user = u
	return u, first, true
}

// removeDevice unregisters d; last reports that it was its user's last
// device here, and the user is then gone from the registry.
func (r *registry) removeDevice(d *device) (last bool) {
	u := d.user
	s := &r.users[r.shardOf(u.id)]
	s.mu.Lock()
	defer s.mu.Unlock()
	u.mu.Lock()
	defer u.mu.Unlock()
	for i, x := range u.devices {
		if x == d {
			u.devices[i] = u.devices[len(u.devices)-1]
			u.devices[len(u.devices)-1] = nil
			u.devices = u.devices[:len(u.devices)-1]
			break
		}
	}
	if len(u.devices) > 0 {
		return false
	}
	if s.users[u.id] == u {
		delete(s.users, u.id)
	}
	return true
}

// user returns the local user with this id, or nil.
func (r *registry) user(userID string) *localUser {
	s := &r.users[r.shardOf(userID)]
	s.mu.Lock()
	u := s.users[userID]
	s.mu.Unlock()
	return u
}

// rangeDevices calls f for every local device announced online, with its
// user's chats, outside the registry's locks.
func (r *registry) rangeDevices(f func(d *device, chats []string)) {
	var users []*localUser
	for i := range r.users {
		s := &r.users[i]
		s.mu.Lock()
		for _, u := range s.users {
			users = append(users, u)
		}
		s.mu.Unlock()
	}
	var devs []*device
	for _, u := range users {
		chats := u.chatIDs()
		devs = u.devicesCopy(devs[:0])
		for _, d := range devs {
			d.mu.Lock()
			up := d.presenceUp
			d.mu.Unlock()
			if up {
				f(d, chats)
			}
		}
	}
}

// addChatUser records u as a local member of chatID. created reports that
// the chat had no local member before: the caller must then call activate
// to subscribe.
func (r *registry) addChatUser(chatID string, u *localUser) (c *localChat, created bool) {
	s := &r.chats[r.shardOf(chatID)]
	s.mu.Lock()
	defer s.mu.Unlock()
	c = s.chats[chatID]
	if c == nil {
		c = &localChat{id: chatID}
		s.chats[chatID] = c
		created = true
	}
	c.users.set(u.id, u)
	return c, created
}

// activate runs subscribe under c's shard lock if c is still the current
// local chat of its id and keeps the subscription it returns (nil if it
// failed). Holding the
// lock orders activation against removeChatUser, so a chat that was
// dropped and re-created meanwhile is never subscribed twice. subscribe
// must not block.
func (r *registry) activate(c *localChat, subscribe func() subscription) bool {
	s := &r.chats[r.shardOf(c.id)]
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.chats[c.id] != c {
		return false
	}
	c.sub = subscribe()
	return true
}

// removeChatUser removes u from chatID's local members. When it was the
// last one the chat is forgotten and returned for the caller to end its
// subscription.
func (r *registry) removeChatUser(chatID string, u *localUser) (c *localChat, removedChat bool) {
	s := &r.chats[r.shardOf(chatID)]
	s.mu.Lock()
	defer s.mu.Unlock()
	c = s.chats[chatID]
	if c == nil {
		return nil, false
	}
	// A newer localUser of the same id may have replaced u; keep it.
	if cur, _ := c.users.get(u.id); cur == u {
		c.users.delete(u.id)
	}
	if c.users.len() > 0 {
		return c, false
	}
	delete(s.chats, chatID)
	return c, true
}

// sharedChatID returns the registry's copy of chatID if the chat has
// local members (chatID itself otherwise), so that the per-member
// structures naming a chat share one string rather than hold one each.
func (r *registry) sharedChatID(chatID string) string {
	if c := r.chat(chatID); c != nil {
		return c.id
	}
	return chatID
}

// chat returns the local chat chatID, nil when no local user is a member.
func (r *registry) chat(chatID string) *localChat {
	s := &r.chats[r.shardOf(chatID)]
	s.mu.RLock()
	c := s.chats[chatID]
	s.mu.RUnlock()
	return c
}

// chatUsers appends the local member users of chatID to buf.
func (r *registry) chatUsers(chatID string, buf []*localUser) []*localUser {
	s := &r.chats[r.shardOf(chatID)]
	s.mu.RLock()
	if c := s.chats[chatID]; c != nil {
		for _, u := range c.users.all() {
			buf = append(buf, u)
		}
	}
	s.mu.RUnlock()
	return buf
}

// chatCount is the number of chats this node is subscribed to.
func (r *registry) chatCount() int {
	n := 0
	for i := range r.chats {
		s := &r.chats[i]
		s.mu.RLock()
		n += len(s.chats)
		s.mu.RUnlock()
	}
	return n
}

// loaded reports whether the user's chats have been loaded successfully.
func (u *localUser) loaded() bool {
	return u.ready.isOpen() && u.loadErr == nil
}
