package bench

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/gobwas/ws"
)

// TestConsumeSplitFrames: frames of every header length, one of them
// masked, come through whole however the bytes are split between reads
// (as the worker's reader keeps an unfinished frame in pend), and a close
// frame ends the connection with its code counted.
func TestConsumeSplitFrames(t *testing.T) {
	memberList := `{"channel":"chat-room","message":{"type":"MemberList","contents":{"chat":"c1","members":[]}}}`
	long := `{"channel":"chat-room","message":{"type":"Other","contents":"` + strings.Repeat("x", 300) + `"}}`
	huge := `{"channel":"chat-room","message":{"type":"Other","contents":"` + strings.Repeat("y", 70000) + `"}}`
	var all []byte
	all = appendFrame(all, ws.NewTextFrame([]byte(memberList)))
	all = appendFrame(all, ws.NewTextFrame([]byte(long)))
	all = appendFrame(all, ws.MaskFrame(ws.NewTextFrame([]byte(long))))
	all = appendFrame(all, ws.NewTextFrame([]byte(huge)))
	all = appendFrame(all, ws.NewCloseFrame(ws.NewCloseFrameBody(ws.StatusNormalClosure, "")))
	for _, k := range []int{0, 1, 2, 3, 4, 9, 10, 11, len(memberList), len(memberList) + 2, len(memberList) + 3, len(memberList) + 5, len(all) / 2, len(all) - 1} {
		w := &worker{}
		c := &conn{w: w, joined: make(chan struct{})}
		var pend []byte
		var err error
		for _, part := range [][]byte{all[:k], all[k:]} {
			data := append(pend, part...)
			if pend, err = c.consume(data); err != nil {
				break
			}
			pend = append([]byte(nil), pend...)
		}
		if !errors.Is(err, io.EOF) {
			t.Fatalf("split at %d: %v, want io.EOF from the close frame", k, err)
		}
		select {
		case <-c.joined:
		default:
			t.Fatalf("split at %d: the MemberList was not handled", k)
		}
		if c.chatID != "c1" || w.errs["close_1000"] != 1 {
			t.Fatalf("split at %d: chat %q, errors %v", k, c.chatID, w.errs)
		}
	}
	if _, err := (&conn{w: &worker{}}).consume([]byte{0x81, 127, 0x80, 0, 0, 0, 0, 0, 0, 0}); err == nil {
		t.Fatal("a frame of 2^63 bytes was taken")
	}
}
