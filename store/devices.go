package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/natterchat/natter/subjects"
)

// PutDevice implements Store.
func (s *JetStream) PutDevice(ctx context.Context, d Device) error {
	switch {
	case !subjects.ValidID(d.UserID):
		return fmt.Errorf("store: put device %s of %q: %w: user id", d.DeviceID, d.UserID, ErrInvalid)
	case !subjects.ValidID(d.DeviceID):
		return fmt.Errorf("store: put device %q of %s: %w: device id", d.DeviceID, d.UserID, ErrInvalid)
	case !subjects.ValidID(d.NodeID):
		return fmt.Errorf("store: put device %s of %s: %w: node id %q", d.DeviceID, d.UserID, ErrInvalid, d.NodeID)
	}
	if d.ConnectedAt.IsZero() {
		d.ConnectedAt = time.Now().UTC()
	}
	data, err := json.Marshal(d)
	if err != nil {
		return err
	}
	if err := s.put(ctx, s.presence, subjects.DeviceKey(d.UserID, d.DeviceID), data); err != nil {
		return fmt.Errorf("store: put device %s of %s: %w", d.DeviceID, d.UserID, err)
	}
	return nil
}

// DeleteDevice implements Store.
func (s *JetStream) DeleteDevice(ctx context.Context, userID, deviceID string) error {
	if !subjects.ValidID(userID) || !subjects.ValidID(deviceID) {
		return fmt.Errorf("store: delete device %q of %q: %w: id", deviceID, userID, ErrInvalid)
	}
	if err := s.remove(ctx, s.presence, subjects.DeviceKey(userID, deviceID)); err != nil {
		return fmt.Errorf("store: delete device %s of %s: %w", deviceID, userID, err)
	}
	return nil
}

// UserDevices implements Store with direct gets on the user's key prefix.
func (s *JetStream) UserDevices(ctx context.Context, userID string) ([]Device, error) {
	if !subjects.ValidID(userID) {
		return nil, fmt.Errorf("store: devices of %q: %w: user id", userID, ErrInvalid)
	}
	entries, err := s.kvList(ctx, subjects.BucketPresence, subjects.UserDevicesFilter(userID))
	if err != nil {
		return nil, fmt.Errorf("store: devices of %s: %w", userID, err)
	}
	out := make([]Device, 0, len(entries))
	for _, e := range entries {
		var d Device
		if err := json.Unmarshal(e.value, &d); err != nil {
			return nil, fmt.Errorf("store: devices of %s: decode %s: %w", userID, e.key, err)
		}
		out = append(out, d)
	}
	return out, nil
}
