package fanout

import (
	"hash/maphash"
	"sync"

	"github.com/natterchat/natter/node/internal/smallmap"
)

// registryShards is the number of shards of each registry map; a power of
// two so that picking one is a mask.
const registryShards = 64

// localChat is a chat with at least one local member device: while it
// exists, this node is subscribed to the chat's live subject.
type localChat struct {
	id    string
	users smallmap.Map[chatMember] // by user id; guarded by the chat shard's mu
	sub   subscription             // live.chat.<id>; guarded by the chat shard's mu
	// added counts the users added so far, so that a member's since
	// places it among the chat's events: a batch of notices goes to the
	// members that were there when each event came (notices.go).
	// Guarded by the chat shard's mu.
	added uint64
}

// chatMember is a local member of a chat: its user, and the chat's
// count of additions once it was added.
type chatMember struct {
	u     *User
	since uint64
}

// subscription is the part of *nats.Subscription the registry needs.
type subscription interface{ Unsubscribe() error }

type userShard struct {
	mu    sync.Mutex
	users map[string]*User
	// told is the Seq (Recent) of the last membership change whose
	// devices were looked up in this shard (tellDevices). A device
	// registered here missed exactly the changes of its user numbered up
	// to it: they are applied one at a time, in Seq order.
	told uint64
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
		r.users[i].users = make(map[string]*User)
		r.chats[i].chats = make(map[string]*localChat)
	}
	return r
}

func (r *registry) shardOf(id string) int {
	return int(maphash.String(r.seed, id) & (registryShards - 1))
}

// addDevice registers d for its user, creating the local user if d is its
// first device here (first reports that), and returns the shard's told
// mark at that moment. It fails with ok=false when the user already has
// max devices here.
func (r *registry) addDevice(userID, name string, guest bool, d *Device, max int) (u *User, first bool, told uint64, ok bool) {
	s := &r.users[r.shardOf(userID)]
	s.mu.Lock()
	defer s.mu.Unlock()
	u = s.users[userID]
	if u == nil {
		u = newUser(userID, name, guest)
		s.users[userID] = u
		first = true
	}
	return u, first, s.told, u.addDevice(d, max)
}

// tellDevices appends the devices of the local user userID (if any) to
// buf and marks the shard told up to seq, in one step under the shard's
// lock: a device registered before it gets the change through buf, one
// registered after it learns from its told mark that it missed it.
// inOrder is false when seq is not past the mark: a change told out of
// order, which a device registering meanwhile may have missed.
func (r *registry) tellDevices(userID string, seq uint64, buf []*Device) (_ []*Device, inOrder bool) {
	s := &r.users[r.shardOf(userID)]
	s.mu.Lock()
	defer s.mu.Unlock()
	inOrder = seq == 0 || seq > s.told
	s.told = max(s.told, seq)
	if u := s.users[userID]; u != nil {
		buf = u.Devices(buf)
	}
	return buf, inOrder
}

// removeDevice unregisters d; last reports that it was its user's last
// device here, and the user is then gone from the registry.
func (r *registry) removeDevice(d *Device) (last bool) {
	u := d.user
	s := &r.users[r.shardOf(u.id)]
	s.mu.Lock()
	defer s.mu.Unlock()
	if u.removeDevice(d) > 0 {
		return false
	}
	if s.users[u.id] == u {
		delete(s.users, u.id)
	}
	return true
}

// user returns the local user with this id, or nil.
func (r *registry) user(userID string) *User {
	s := &r.users[r.shardOf(userID)]
	s.mu.Lock()
	u := s.users[userID]
	s.mu.Unlock()
	return u
}

// rangeDevices calls f for every local device announced online, with its
// user's chats, outside the registry's locks.
func (r *registry) rangeDevices(f func(d *Device, chats []string)) {
	var users []*User
	for i := range r.users {
		s := &r.users[i]
		s.mu.Lock()
		for _, u := range s.users {
			users = append(users, u)
		}
		s.mu.Unlock()
	}
	var devs []*Device
	for _, u := range users {
		chats := u.ChatIDs()
		devs = u.Devices(devs[:0])
		for _, d := range devs {
			if d.presence() {
				f(d, chats)
			}
		}
	}
}

// addChatUser records u as a local member of chatID. created reports that
// the chat had no local member before: the caller must then call activate
// to subscribe.
func (r *registry) addChatUser(chatID string, u *User) (c *localChat, created bool) {
	s := &r.chats[r.shardOf(chatID)]
	s.mu.Lock()
	defer s.mu.Unlock()
	c = s.chats[chatID]
	if c == nil {
		c = &localChat{id: chatID}
		s.chats[chatID] = c
		created = true
	}
	if cur, ok := c.users.Get(u.id); !ok || cur.u != u {
		c.added++
		c.users.Set(u.id, chatMember{u: u, since: c.added})
	}
	return c, created
}

// activate runs subscribe under c's shard lock if c is still the current
// local chat of its id and keeps the subscription it returns (nil if it
// failed). Holding the lock orders activation against removeChatUser, so
// a chat that was dropped and re-created meanwhile is never subscribed
// twice. subscribe must not block.
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
func (r *registry) removeChatUser(chatID string, u *User) (c *localChat, removedChat bool) {
	s := &r.chats[r.shardOf(chatID)]
	s.mu.Lock()
	defer s.mu.Unlock()
	c = s.chats[chatID]
	if c == nil {
		return nil, false
	}
	// A newer User of the same id may have replaced u; keep it.
	if cur, _ := c.users.Get(u.id); cur.u == u {
		c.users.Delete(u.id)
	}
	if c.users.Len() > 0 {
		return c, false
	}
	delete(s.chats, chatID)
	return c, true
}

// endSubscription ends c's live subscription; c is no longer in the
// registry, so nothing else reads c.sub.
func (c *localChat) endSubscription() {
	if c.sub != nil {
		_ = c.sub.Unsubscribe()
	}
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
func (r *registry) chatUsers(chatID string, buf []*User) []*User {
	return r.chatUsersExcept(chatID, "", buf)
}

// chatUsersExcept is chatUsers without the user skipID. The chat's entry
// for it is looked up once and the others are told from it by pointer:
// comparing every member's id would read each id's bytes, one cache miss
// per member of a room in a storm of join notices.
func (r *registry) chatUsersExcept(chatID, skipID string, buf []*User) []*User {
	s := &r.chats[r.shardOf(chatID)]
	s.mu.RLock()
	if c := s.chats[chatID]; c != nil {
		var skip chatMember
		if skipID != "" {
			skip, _ = c.users.Get(skipID)
		}
		for _, m := range c.users.All() {
			if m.u != skip.u {
				buf = append(buf, m.u)
			}
		}
	}
	s.mu.RUnlock()
	return buf
}

// chatNow returns chatID's local chat (nil if it has no local member)
// with its count of additions and skipID's user if it is a member, read
// together: where a chat event that reaches the chat's loop now stands
// among the chat's members.
func (r *registry) chatNow(chatID, skipID string) (c *localChat, added uint64, skip *User) {
	s := &r.chats[r.shardOf(chatID)]
	s.mu.RLock()
	defer s.mu.RUnlock()
	if c = s.chats[chatID]; c == nil {
		return nil, 0, nil
	}
	if skipID != "" {
		m, _ := c.users.Get(skipID)
		skip = m.u
	}
	return c, c.added, skip
}

// chatMembers appends c's members to buf if c is still the local chat of
// its id; a chat dropped and made again has members that all came after
// whatever was batched for the old one.
func (r *registry) chatMembers(c *localChat, buf []chatMember) []chatMember {
	s := &r.chats[r.shardOf(c.id)]
	s.mu.RLock()
	if s.chats[c.id] == c {
		for _, m := range c.users.All() {
			buf = append(buf, m)
		}
	}
	s.mu.RUnlock()
	return buf
}

// chatIDs appends the ids of the chats with local members to buf.
func (r *registry) chatIDs(buf []string) []string {
	for i := range r.chats {
		s := &r.chats[i]
		s.mu.RLock()
		for id := range s.chats {
			buf = append(buf, id)
		}
		s.mu.RUnlock()
	}
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
