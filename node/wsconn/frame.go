package wsconn

import (
	"encoding/binary"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

// Frame is an immutable, fully encoded server-to-client frame (header and
// payload, unmasked per RFC 6455 §5.1). It is encoded once and the same
// bytes are queued on every recipient, so a fan-out to N connections costs
// one encoding and N pointer appends.
type Frame struct {
	b   []byte // header followed by payload
	off int    // header length
}

// maxHeaderLen is the longest frame header: 2 bytes, 8 bytes of extended
// length and a 4-byte mask key (RFC 6455 §5.2).
const maxHeaderLen = 14

// maxCloseText is the longest close reason: a control payload is at most 125
// bytes (RFC 6455 §5.5) and the code takes 2.
const maxCloseText = 123

// NewTextFrame returns a final text frame carrying a copy of payload, header
// and payload in one allocation. The caller must give valid UTF-8.
func NewTextFrame(payload []byte) *Frame {
	return newFrame(ws.OpText, payload)
}

func newFrame(op ws.OpCode, payload []byte) *Frame {
	n := len(payload)
	hl := 2
	switch {
	case n > 0xffff:
		hl = 10
	case n > 125:
		hl = 4
	}
	b := make([]byte, hl+n)
	b[0] = 0x80 | byte(op) // FIN, no RSV bits
	switch hl {
	case 2:
		b[1] = byte(n)
	case 4:
		b[1] = 126
		binary.BigEndian.PutUint16(b[2:], uint16(n))
	default:
		b[1] = 127
		binary.BigEndian.PutUint64(b[2:], uint64(n))
	}
	copy(b[hl:], payload)
	return &Frame{b: b, off: hl}
}

// Len is the encoded size of f in bytes, header included; it is what f
// counts against Config.MaxOutboundBytes.
func (f *Frame) Len() int { return len(f.b) }

// Payload returns f's payload. It must not be modified.
func (f *Frame) Payload() []byte { return f.b[f.off:] }

// pingFrame is the server's heartbeat ping, shared by every connection.
var pingFrame = newFrame(ws.OpPing, nil)

// newCloseFrame encodes a close frame with code and text (RFC 6455 §5.5.1),
// text cut to maxCloseText bytes at a rune boundary so it stays valid UTF-8.
func newCloseFrame(code ws.StatusCode, text string) *Frame {
	if len(text) > maxCloseText {
		i := maxCloseText
		for i > 0 && !utf8.RuneStart(text[i]) {
			i--
		}
		text = text[:i]
	}
	var p [125]byte
	binary.BigEndian.PutUint16(p[:], uint16(code))
	n := 2 + copy(p[2:], text)
	return newFrame(ws.OpClose, p[:n])
}
