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
	// more is the rest of the payload of a frame of parts
	// (TextFrameOfParts), after b; nil for most frames.
	more [][]byte
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

// TextHeaderRoom is the room a payload needs before it for
// TextFrameAfter: the longest header of a server frame (no mask key).
const TextHeaderRoom = 10

// TextFrameAfter returns a final text frame whose payload is
// b[TextHeaderRoom:], writing the header into the room before it rather
// than copying the payload: a frame encoded once for a device costs one
// allocation, not two. b must not be used or changed afterwards; the
// payload must be valid UTF-8.
func TextFrameAfter(b []byte) *Frame {
	n := len(b) - TextHeaderRoom
	hl := outHeaderLen(n)
	h := b[TextHeaderRoom-hl:]
	putHeader(h, ws.OpText, n, hl)
	return &Frame{b: h, off: hl}
}

// TextFrameOfParts returns a final text frame whose payload is
// first[TextHeaderRoom:] followed by the parts of more, which are written
// where they are instead of being copied into one buffer: a frame whose
// bulk is bytes shared with other frames (a chat's guests encoded once,
// wire.MemberRun) costs only its own parts. first must not be used or
// changed afterwards, nor the parts while the frame may be queued; the
// payload must be valid UTF-8.
func TextFrameOfParts(first []byte, more [][]byte) *Frame {
	n := len(first) - TextHeaderRoom
	for _, p := range more {
		n += len(p)
	}
	hl := outHeaderLen(n)
	h := first[TextHeaderRoom-hl:]
	putHeader(h, ws.OpText, n, hl)
	return &Frame{b: h, off: hl, more: more}
}

// AppendTextFrame appends a final text frame carrying payload, header and
// payload, to b: frames meant to leave together, encoded one after
// another into one buffer (FramesOfParts). The caller must give valid
// UTF-8.
func AppendTextFrame(b, payload []byte) []byte {
	n := len(payload)
	hl := outHeaderLen(n)
	b = append(b, make([]byte, hl)...)
	putHeader(b[len(b)-hl:], ws.OpText, n, hl)
	return append(b, payload...)
}

// FramesOfParts returns a run of whole frames encoded by AppendTextFrame,
// queued as one Frame and written where its parts lie: notices encoded
// once into one buffer for many connections, each sent the parts of it
// that it is owed. The parts must hold whole frames and must not change
// while the Frame may be queued. A run's Payload is all of its bytes,
// headers included.
func FramesOfParts(parts [][]byte) *Frame {
	f := &Frame{b: parts[0]}
	if len(parts) > 1 {
		f.more = parts[1:]
	}
	return f
}

// outHeaderLen is the header length of a server frame with n bytes of
// payload.
func outHeaderLen(n int) int {
	switch {
	case n > 0xffff:
		return 10
	case n > 125:
		return 4
	}
	return 2
}

// putHeader writes a final frame's header of length hl into b.
func putHeader(b []byte, op ws.OpCode, n, hl int) {
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
}

func newFrame(op ws.OpCode, payload []byte) *Frame {
	n := len(payload)
	hl := outHeaderLen(n)
	b := make([]byte, hl+n)
	putHeader(b, op, n, hl)
	copy(b[hl:], payload)
	return &Frame{b: b, off: hl}
}

// rawFrame queues bytes that are not a frame: the handshake's response
// (AttachConnBuffered). Its payload is all of it.
func rawFrame(b []byte) *Frame { return &Frame{b: b} }

// Len is the encoded size of f in bytes, header included; it is what f
// counts against Config.MaxOutboundBytes.
func (f *Frame) Len() int {
	n := len(f.b)
	for _, p := range f.more {
		n += len(p)
	}
	return n
}

// Payload returns f's payload. It must not be modified. A frame of parts
// returns a copy of them joined.
func (f *Frame) Payload() []byte {
	if f.more == nil {
		return f.b[f.off:]
	}
	out := make([]byte, 0, f.Len()-f.off)
	out = append(out, f.b[f.off:]...)
	for _, p := range f.more {
		out = append(out, p...)
	}
	return out
}

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
