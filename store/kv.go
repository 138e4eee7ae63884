package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nats-io/nats.go/jetstream"
)

// getJSON decodes the value of key into v; a missing or deleted key is
// ErrNotFound. It reads from the leader (see kvGet).
func (s *JetStream) getJSON(ctx context.Context, kv jetstream.KeyValue, key string, v any) (uint64, error) {
	b, rev, err := s.kvGet(ctx, kv, key)
	if err != nil {
		return 0, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return 0, fmt.Errorf("decode %s: %w", key, err)
	}
	return rev, nil
}

// getString returns the value of key as a string (name -> id buckets).
func (s *JetStream) getString(ctx context.Context, kv jetstream.KeyValue, key string) (string, error) {
	b, _, err := s.kvGet(ctx, kv, key)
	return string(b), err
}

// create stores value under key only if the key has no current value;
// created is false (and err nil) if it has one. Create is what makes names
// unique and memberships keep their first join time.
func (s *JetStream) create(ctx context.Context, kv jetstream.KeyValue, key string, value []byte) (created bool, err error) {
	ctx, cancel := s.requestContext(ctx)
	defer cancel()
	_, err = kv.Create(ctx, key, value)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return false, nil
	}
	return err == nil, err
}

// update stores value under key only if the key's revision is still rev;
// ok is false (and err nil) if another writer changed it since.
func (s *JetStream) update(ctx context.Context, kv jetstream.KeyValue, key string, value []byte, rev uint64) (ok bool, err error) {
	ctx, cancel := s.requestContext(ctx)
	defer cancel()
	_, err = kv.Update(ctx, key, value, rev)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return false, nil
	}
	return err == nil, err
}

// remove deletes key with an expiring purge marker (see tombstoneTTL). It
// is idempotent.
func (s *JetStream) remove(ctx context.Context, kv jetstream.KeyValue, key string) error {
	ctx, cancel := s.requestContext(ctx)
	defer cancel()
	return kv.Purge(ctx, key, jetstream.PurgeTTL(tombstoneTTL))
}

// cleanup undoes a partial write after a later step failed. It runs even
// if ctx is already done (that may be why the step failed) and only logs,
// because the caller is already returning the step's error.
func (s *JetStream) cleanup(ctx context.Context, kv jetstream.KeyValue, key, why string) {
	ctx, cancel := s.requestContext(context.WithoutCancel(ctx))
	defer cancel()
	if err := kv.Purge(ctx, key, jetstream.PurgeTTL(tombstoneTTL)); err != nil {
		s.cfg.Logger.Warn("store: cleanup failed", "bucket", kv.Bucket(), "key", key, "why", why, "err", err)
	}
}

// validName checks user data used as a name: 1..maxLen characters of valid
// UTF-8 without control characters, not only spaces.
func validName(what, name string, maxLen int) error {
	n := utf8.RuneCountInString(name)
	switch {
	case strings.TrimSpace(name) == "":
		return fmt.Errorf("%w: empty %s", ErrInvalid, what)
	case n > maxLen:
		return fmt.Errorf("%w: %s longer than %d characters", ErrInvalid, what, maxLen)
	case !utf8.ValidString(name):
		return fmt.Errorf("%w: %s is not UTF-8", ErrInvalid, what)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return fmt.Errorf("%w: %s has control characters", ErrInvalid, what)
	}
	return nil
}
