package fanout

import (
	"slices"
	"sync"

	"github.com/natterchat/natter/node/internal/chatset"
	"github.com/natterchat/natter/node/internal/latch"
)

// User is a user with at least one device on this node. Its chat set is
// the node's membership cache for that user: sends and reads are
// authorized from it, and it decides which chats this node subscribes to.
type User struct {
	// Immutable after creation.
	id    string
	name  string
	guest bool
	// ready opens once chats has been loaded from the store (loadErr
	// says whether that failed); a user's later devices wait on it.
	ready   latch.Latch
	loadErr error // written once, before ready opens

	mu      sync.Mutex
	devices []*Device   // guarded by mu
	chats   chatset.Set // guarded by mu
	// Room for the usual one device and one chat (see newUser).
	devBuf  [1]*Device
	chatBuf [1]string
}

// newUser returns a user whose first device and first chat need no
// allocation of their own: one object per user, not three, on a node
// where users are counted in tens of thousands.
func newUser(id, name string, guest bool) *User {
	u := &User{id: id, name: name, guest: guest}
	u.devices, u.chats = u.devBuf[:0], u.chatBuf[:0]
	u.ready.Init()
	return u
}

// ID returns the user id.
func (u *User) ID() string { return u.id }

// Name returns the user's name.
func (u *User) Name() string { return u.name }

// Guest reports whether the user is a guest, whose identity ends with its
// connection.
func (u *User) Guest() bool { return u.guest }

// Devices appends the user's devices to buf; callers work outside the
// lock.
func (u *User) Devices(buf []*Device) []*Device {
	u.mu.Lock()
	buf = append(buf, u.devices...)
	u.mu.Unlock()
	return buf
}

// IsMember reports whether the cache says u is a member of chatID.
func (u *User) IsMember(chatID string) bool {
	u.mu.Lock()
	ok := u.chats.Has(chatID)
	u.mu.Unlock()
	return ok
}

// Membership reports whether u is a member of chatID and in how many
// chats it is, read together.
func (u *User) Membership(chatID string) (member bool, chats int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.chats.Has(chatID), len(u.chats)
}

// ChatIDs returns the user's cached chats.
func (u *User) ChatIDs() []string {
	u.mu.Lock()
	ids := slices.Clone(u.chats)
	u.mu.Unlock()
	return ids
}

// SharedDeviceID returns the id string of u's device with this id (id
// itself if it has none), so that other structures can share it.
func (u *User) SharedDeviceID(id string) string {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, d := range u.devices {
		if d.id == id {
			return d.id
		}
	}
	return id
}

// Loaded reports whether the user's chats have been loaded successfully.
func (u *User) Loaded() bool {
	return u.ready.IsOpen() && u.loadErr == nil
}

// Wait blocks until the user's chats are loaded and returns the error of
// loading them.
func (u *User) Wait() error {
	u.ready.Wait()
	return u.loadErr
}

// finishLoad records the outcome of loading the user's chats and releases
// its waiters; the loader calls it once.
func (u *User) finishLoad(err error) {
	u.loadErr = err
	u.ready.Open()
}

// addDevice appends d unless u has max devices here.
func (u *User) addDevice(d *Device, max int) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.devices) >= max {
		return false
	}
	u.devices = append(u.devices, d)
	d.setUser(u)
	return true
}

// removeDevice drops d and returns how many devices are left.
func (u *User) removeDevice(d *Device) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	for i, x := range u.devices {
		if x == d {
			last := len(u.devices) - 1
			u.devices[i] = u.devices[last]
			u.devices[last] = nil
			u.devices = u.devices[:last]
			break
		}
	}
	return len(u.devices)
}

// addChat adds chatID to the cache; it reports false if it was there.
func (u *User) addChat(chatID string) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.chats.Add(chatID)
}

// removeChat drops chatID from the cache; it reports false if it was not
// there.
func (u *User) removeChat(chatID string) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.chats.Remove(chatID)
}
