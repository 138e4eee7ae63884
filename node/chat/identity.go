package chat

import (
	"encoding/hex"

	"github.com/google/uuid"

	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/store"
)

// Identity is an authenticated user: from a token, or a guest.
type Identity struct {
	ID    string
	Name  string
	Guest bool
	// Device is a guest's device id, made with its user id (NewGuest);
	// empty for a token's user, whose device gets a fresh id.
	Device string
}

// MemberEvent is who's join or leave of c as the JoinedRoom and LeftRoom
// frames tell it.
func (who Identity) MemberEvent(c store.Chat) wire.MemberEvent {
	return wire.MemberEvent{Room: c.Name, Chat: c.ID, User: who.ID, Name: who.Name}
}

// NewID returns a fresh random id for users, devices and chats.
func NewID() string { return uuid.NewString() }

// idLen is the length of an id from NewID.
const idLen = 36

// putID writes a fresh random id, formatted as NewID's, into dst[:idLen],
// so that several ids can share one allocation.
func putID(dst []byte) {
	u := uuid.New()
	hex.Encode(dst[0:8], u[0:4])
	hex.Encode(dst[9:13], u[4:6])
	hex.Encode(dst[14:18], u[6:8])
	hex.Encode(dst[19:23], u[8:10])
	hex.Encode(dst[24:idLen], u[10:])
	dst[8], dst[13], dst[18], dst[23] = '-', '-', '-', '-'
}

// NewGuest returns a fresh guest identity: random user and device ids and
// the name "guest-" and the id's first 8 characters.
func NewGuest() Identity {
	// One string holds the name, the id and the id of the guest's one
	// device: a guest costs one allocation for them instead of three,
	// and 80 B of memory for as long as it is connected, not 96.
	const prefix = "guest-"
	var b [len(prefix) + 2*idLen]byte
	copy(b[:], prefix)
	putID(b[len(prefix):])
	putID(b[len(prefix)+idLen:])
	s := string(b[:])
	id := s[len(prefix) : len(prefix)+idLen]
	return Identity{ID: id, Name: s[:len(prefix)+8], Guest: true, Device: s[len(prefix)+idLen:]}
}
