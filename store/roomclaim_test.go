package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/natterchat/natter/store"
	"github.com/natterchat/natter/store/storetest"
)

// lostAnswers is a room name bucket whose Create answers get lost: a
// timeout after the server stored the claim (stored) or before it did.
// JetStream cannot be made to lose one reply on demand; this is the one
// fake of these tests.
type lostAnswers struct {
	jetstream.KeyValue
	stored bool
}

func (l *lostAnswers) Create(ctx context.Context, key string, value []byte, opts ...jetstream.KVCreateOpt) (uint64, error) {
	if l.stored {
		if _, err := l.KeyValue.Create(ctx, key, value, opts...); err != nil {
			return 0, err
		}
	}
	return 0, context.DeadlineExceeded
}

// TestRoomClaimAnswerLost: when the answer to a public room's name claim
// is lost, the room's record is kept if the claim was stored (the name
// must not point at nothing) and removed if it was not.
func TestRoomClaimAnswerLost(t *testing.T) {
	ctx := storetest.Ctx(t)
	for _, stored := range []bool{true, false} {
		e := newEnv(t)
		e.st.WrapRooms(func(kv jetstream.KeyValue) jetstream.KeyValue { return &lostAnswers{KeyValue: kv, stored: stored} })
		c := store.Chat{ID: "c1", Kind: store.Public, Name: "lost-answer", CreatedBy: "u1"}
		err := e.st.CreateChat(ctx, c, nil)
		room, rerr := e.st.PublicRoom(ctx, c.Name)
		_, cerr := e.st.Chat(ctx, c.ID)
		if stored {
			if err != nil || rerr != nil || room.ID != c.ID || cerr != nil {
				t.Errorf("claim stored, answer lost: CreateChat %v; PublicRoom %+v, %v; Chat %v — want the room", err, room, rerr, cerr)
			}
			continue
		}
		if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(rerr, store.ErrNotFound) || !errors.Is(cerr, store.ErrNotFound) {
			t.Errorf("claim not stored: CreateChat %v; PublicRoom %v; Chat %v — want the error and no room or record", err, rerr, cerr)
		}
	}
}
