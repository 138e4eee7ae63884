package store

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// MemoryConfig tunes a Memory store. The zero value is a working store
// that sends no live copies; every field documents its default, applied by
// NewMemory.
type MemoryConfig struct {
	// Live is the connection live copies are published on: every newly
	// stored message goes to subjects.LiveChat(chatID) as CHAT_MSGS's
	// RePublish sends it. Core NATS is enough. Default nil: no live
	// copies.
	Live *nats.Conn

	// Duplicates is PublishMessage's dedup window, as Config.Duplicates.
	// Default DefaultDuplicates, clipped to MaxAge when MaxAge is shorter.
	Duplicates time.Duration

	// MaxAge is how long messages are kept. Default 0: forever.
	MaxAge time.Duration

	// MaxMsgsPerSubject caps the messages kept per chat. Default 0:
	// unlimited.
	MaxMsgsPerSubject int64

	// Now is the store's clock: the times it fills in, the live copies'
	// Nats-Time-Stamp, the dedup window and MaxAge all read it, so a test
	// can step through a window without sleeping. Default time.Now.
	Now func() time.Time

	// Logger receives warnings the caller cannot act on (a live copy that
	// could not be sent). Default slog.Default().
	Logger *slog.Logger
}

// withDefaults returns cfg with zero fields set to their defaults.
func (cfg MemoryConfig) withDefaults() MemoryConfig {
	if cfg.Duplicates <= 0 {
		cfg.Duplicates = DefaultDuplicates
	}
	if cfg.MaxAge > 0 && cfg.Duplicates > cfg.MaxAge {
		cfg.Duplicates = cfg.MaxAge
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return cfg
}

// Memory is a Store held in process memory, for tests of the node's
// session and fan-out logic that should not need JetStream. It keeps every
// guarantee the Store methods document, with the same sentinel errors in
// the same cases as JetStream (storetest.RunConformance runs both), and it
// can publish live copies that DecodeLive cannot tell from RePublish's.
// Nothing survives the process; production nodes use JetStream. Make one
// with NewMemory: the zero value has no maps to store into.
//
// Every method runs under one lock, which is what makes names unique,
// EnsurePublicRoom race-free and sequences strictly increasing across
// chats, and what sends live copies in sequence order.
type Memory struct {
	cfg MemoryConfig // static after NewMemory

	mu        sync.Mutex
	users     map[string]User   // by id
	userNames map[string]string // userNameKey -> user id
	chats     map[string]Chat
	rooms     map[string]string                  // public room name -> chat id
	reads     map[string]ReadMarker              // by subjects.ReadKey; memory_reads.go
	byChat    map[string]map[string]*membership  // by chat id, then user id
	byUser    map[string]map[string]*membership  // by user id, then chat id
	memberRev uint64                             // last membership's rev
	msgs      map[string][]storedMsg             // by chat, ascending
	lastSeq   uint64                             // the "stream's" last sequence
	dedup     map[string]dedupEntry              // by message id
	dedupIDs  []string                           // dedup's ids, oldest first
	failures  map[string]error                   // Fail's switches by method
	dropLive  int                                // live copies DropLive still drops
	states    map[string]map[uint64]MessageState // by chat, then message seq; memory_edits.go
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty Memory store configured by cfg.
func NewMemory(cfg MemoryConfig) *Memory {
	return &Memory{
		cfg:       cfg.withDefaults(),
		users:     make(map[string]User),
		userNames: make(map[string]string),
		chats:     make(map[string]Chat),
		rooms:     make(map[string]string),
		byChat:    make(map[string]map[string]*membership),
		byUser:    make(map[string]map[string]*membership),
		msgs:      make(map[string][]storedMsg),
		dedup:     make(map[string]dedupEntry),
		failures:  make(map[string]error),
		states:    make(map[string]map[uint64]MessageState),
	}
}

// storeMethods are the names Fail accepts: Store's methods. A literal
// list, not reflection: a reflective Method call makes the linker keep
// every exported method of every type, 3 MB of the node's binary.
// TestStoreMethodsListed keeps it equal to the interface.
var storeMethods = map[string]bool{
	"MarkRead": true, "ReadMarkers": true, "ChatReadMarkers": true, "LastSeqs": true, "ScanSenders": true,
	"CreateUser": true, "User": true, "UserByName": true, "UpdateUser": true,
	"CreateChat": true, "Chat": true, "PublicRoom": true, "EnsurePublicRoom": true,
	"AddMember": true, "RemoveMember": true, "Member": true, "Members": true, "UserChats": true,
	"PublishMessage": true, "Messages": true, "LastSeq": true, "Position": true,
	"Message": true, "EraseMessages": true, "UpdateMessageState": true, "MessageStates": true, "DeletedMessages": true,
}

// Fail is a test hook: it makes every later call of the Store method
// named method (e.g. "PublishMessage") fail with err, wrapped as its
// storage step's error, until Fail(method, nil) clears the switch. The
// arguments are still checked first, so an invalid call gives ErrInvalid
// as before, like a JetStream store whose server fails. There are no
// retries: err is what a JetStream caller sees once its retries are over.
// Only the named method fails, not the others that share its work
// (CreateChat still adds members while AddMember fails). Fail panics on a
// name that is not a Store method, so that a typo cannot leave a test
// without the failure it is about.
func (s *Memory) Fail(method string, err error) {
	if !storeMethods[method] {
		panic(fmt.Sprintf("store: Memory.Fail: %q is not a Store method", method))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil {
		delete(s.failures, method)
		return
	}
	s.failures[method] = err
}

// DropLive is a test hook: the next n live copies, of any chats, are not
// sent, as if they were lost on the way (a slow consumer, a reconnect).
// Their messages are stored, and the next copy of each of their chats
// names the chat's previous message in Nats-Last-Sequence, one the
// receiver never saw: that is how it finds the gap to repair with
// Messages. It replaces any drops still pending; 0 cancels them.
func (s *Memory) DropLive(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropLive = max(n, 0)
}

// begin is where a method would first reach the server: it returns the
// error Fail set for method, or ctx's. s.mu is held.
func (s *Memory) begin(ctx context.Context, method string) error {
	if err := s.failures[method]; err != nil {
		return err
	}
	return ctx.Err()
}

// now reads the store's clock in UTC, as JetStream fills in times.
func (s *Memory) now() time.Time { return s.cfg.Now().UTC() }

// stored returns v as JetStream gives a stored value back: encoded and
// decoded with the same JSON, so that times lose their monotonic reading,
// empty slices become nil, and nothing is shared with the caller.
func stored[T any](v T) (T, error) {
	var out T
	b, err := json.Marshal(v)
	if err != nil {
		return out, err
	}
	err = json.Unmarshal(b, &out)
	return out, err
}
