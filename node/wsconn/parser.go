package wsconn

import (
	"encoding/binary"
	"sync"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

// protoError is an inbound protocol violation; reason selects the close code.
type protoError struct {
	reason CloseReason
	msg    string
}

func (e *protoError) Error() string { return "wsconn: " + e.msg }

// Parser errors are sentinels so tests (and the fuzzer) can compare them.
var (
	errRsv          = &protoError{ReasonProtocolError, "reserved bits set"}
	errOpcode       = &protoError{ReasonProtocolError, "reserved opcode"}
	errControlFrag  = &protoError{ReasonProtocolError, "fragmented control frame"}
	errControlLen   = &protoError{ReasonProtocolError, "control frame payload over 125 bytes"}
	errUnmasked     = &protoError{ReasonProtocolError, "unmasked client frame"}
	errContinuation = &protoError{ReasonProtocolError, "continuation frame without a message"}
	errInterleaved  = &protoError{ReasonProtocolError, "data frame inside a fragmented message"}
	errLength       = &protoError{ReasonProtocolError, "invalid payload length"}
	errCloseLen     = &protoError{ReasonProtocolError, "close payload of 1 byte"}
	errCloseCode    = &protoError{ReasonProtocolError, "invalid close code"}
	errBinary       = &protoError{ReasonUnsupportedData, "binary frame"}
	errUTF8         = &protoError{ReasonInvalidUTF8, "text message is not valid UTF-8"}
	errCloseUTF8    = &protoError{ReasonInvalidUTF8, "close reason is not valid UTF-8"}
	errTooBig       = &protoError{ReasonTooBig, "message too big"}
)

// parseSink receives what the parser completes. Returning false stops the
// parser: the connection is closing and the rest of the input is dropped.
type parseSink interface {
	// onText gets a complete, UTF-8-valid text message, valid until it returns.
	onText(msg []byte) bool
	// onControl gets a ping, pong or (validated) close frame payload.
	onControl(op ws.OpCode, payload []byte) bool
}

// parser is the incremental, non-blocking parser of client frames
// (RFC 6455 §5.2). It keeps nothing between complete frames except the
// state of a fragmented message; bytes of an incomplete frame and the
// fragments of an incomplete message live in buffers borrowed from bufPool
// and returned as soon as the frame or message completes.
//
// A parser is owned by the worker processing its connection.
type parser struct {
	pend *[]byte // bytes of the incomplete frame at the head of the input; nil if none
	msg  *[]byte // payload of the fragmented text message so far; nil if none
	frag bool    // a fragmented text message is in progress
	done bool    // a close frame or an error ended the stream
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(b *[]byte) {
	if cap(*b) > 256<<10 {
		return // let the GC take outsized buffers
	}
	*b = (*b)[:0]
	bufPool.Put(b)
}

// release returns borrowed buffers; the parser accepts no more input.
func (p *parser) release() {
	if p.pend != nil {
		putBuf(p.pend)
		p.pend = nil
	}
	if p.msg != nil {
		putBuf(p.msg)
		p.msg = nil
	}
	p.done = true
}

// pending reports whether a partial frame or message is buffered.
func (p *parser) pending() bool { return p.pend != nil || p.frag }

// feed parses data, which it unmasks in place, and reports each completed
// frame to s. It returns how many frames completed and the first protocol
// error; after an error or a close frame the parser ignores further input.
// Splitting the same bytes over several calls gives the same results.
func (p *parser) feed(data []byte, maxMsg int, s parseSink) (frames int, err error) {
	for len(data) > 0 && !p.done {
		if p.pend == nil {
			hl, total, err := p.check(data, maxMsg)
			if err != nil {
				p.done = true
				return frames, err
			}
			if total < 0 || total > len(data) {
				// Incomplete: everything left belongs to this frame.
				p.pend = getBuf()
				*p.pend = append(*p.pend, data...)
				return frames, nil
			}
			frames++
			if err := p.frame(data[:total], hl, s); err != nil {
				p.done = true
				return frames, err
			}
			data = data[total:]
			continue
		}
		// Grow the pending frame with only the bytes it needs: first enough
		// to learn the header length, then the header, then the payload.
		buf := *p.pend
		var hl, total int
		for {
			var err error
			hl, total, err = p.check(buf, maxMsg)
			if err != nil {
				p.done = true
				return frames, err
			}
			need := total
			switch {
			case len(buf) < 2:
				need = 2
			case total < 0:
				need = hl
			}
			if total >= 0 && len(buf) >= total {
				break
			}
			if len(data) == 0 {
				*p.pend = buf
				return frames, nil
			}
			take := min(need-len(buf), len(data))
			buf = append(buf, data[:take]...)
			data = data[take:]
		}
		*p.pend = buf
		frames++
		err := p.frame(buf, hl, s)
		putBuf(p.pend)
		p.pend = nil
		if err != nil {
			p.done = true
			return frames, err
		}
	}
	return frames, nil
}

// headerLen is the length of a client frame header given its first two bytes.
func headerLen(b1 byte) int {
	n := 2
	switch b1 & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if b1&0x80 != 0 {
		n += 4
	}
	return n
}

// check validates the frame header at the start of b as far as b reaches.
// It returns the header length (0 if fewer than 2 bytes) and the frame's
// total length (-1 until the whole header is there). Checks run in a fixed
// order on a growing prefix, so a split input fails exactly like a whole one.
// The message size is checked here, before any payload is buffered.
func (p *parser) check(b []byte, maxMsg int) (hl, total int, err error) {
	if len(b) < 2 {
		return 0, -1, nil
	}
	b0, b1 := b[0], b[1]
	fin := b0&0x80 != 0
	op := ws.OpCode(b0 & 0x0f)
	len7 := int(b1 & 0x7f)
	switch {
	case b0&0x70 != 0:
		return 0, 0, errRsv
	case op.IsReserved():
		return 0, 0, errOpcode
	case op.IsControl() && !fin:
		return 0, 0, errControlFrag
	case op.IsControl() && len7 > 125:
		return 0, 0, errControlLen
	case b1&0x80 == 0:
		return 0, 0, errUnmasked
	case op == ws.OpContinuation && !p.frag:
		return 0, 0, errContinuation
	case (op == ws.OpText || op == ws.OpBinary) && p.frag:
		return 0, 0, errInterleaved
	case op == ws.OpBinary:
		return 0, 0, errBinary
	}
	hl = headerLen(b1)
	if len(b) < hl {
		return hl, -1, nil
	}
	var n uint64
	switch len7 {
	case 126:
		n = uint64(binary.BigEndian.Uint16(b[2:]))
	case 127:
		n = binary.BigEndian.Uint64(b[2:])
		if n>>63 != 0 {
			return 0, 0, errLength
		}
	default:
		n = uint64(len7)
	}
	if !op.IsControl() {
		have := 0
		if p.msg != nil {
			have = len(*p.msg)
		}
		if n > uint64(maxMsg-have) {
			return 0, 0, errTooBig
		}
	}
	return hl, hl + int(n), nil
}

// frame handles one complete, checked frame f with header length hl.
func (p *parser) frame(f []byte, hl int, s parseSink) error {
	fin := f[0]&0x80 != 0
	op := ws.OpCode(f[0] & 0x0f)
	mask := [4]byte(f[hl-4 : hl])
	payload := f[hl:]
	ws.Cipher(payload, mask, 0)

	switch op {
	case ws.OpText:
		if !fin {
			p.frag = true
			p.msg = getBuf()
			*p.msg = append(*p.msg, payload...)
			return nil
		}
		if !utf8.Valid(payload) {
			return errUTF8
		}
		if !s.onText(payload) {
			p.done = true
		}
	case ws.OpContinuation:
		*p.msg = append(*p.msg, payload...)
		if !fin {
			return nil
		}
		msg := p.msg
		p.msg, p.frag = nil, false
		defer putBuf(msg)
		if !utf8.Valid(*msg) {
			return errUTF8
		}
		if !s.onText(*msg) {
			p.done = true
		}
	case ws.OpClose:
		if err := checkClosePayload(payload); err != nil {
			return err
		}
		p.done = true
		s.onControl(op, payload)
	default: // ping, pong
		if !s.onControl(op, payload) {
			p.done = true
		}
	}
	return nil
}

// checkClosePayload validates a close frame body (RFC 6455 §5.5.1, §7.4).
func checkClosePayload(b []byte) error {
	switch {
	case len(b) == 0:
		return nil
	case len(b) == 1:
		return errCloseLen
	}
	if !validCloseCode(ws.StatusCode(binary.BigEndian.Uint16(b))) {
		return errCloseCode
	}
	if !utf8.Valid(b[2:]) {
		return errCloseUTF8
	}
	return nil
}

// validCloseCode reports whether a peer may send code (RFC 6455 §7.4.1 and
// the IANA registry): 1004-1006 and 1015 are reserved, 1016-2999 unassigned.
func validCloseCode(code ws.StatusCode) bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1014:
		return true
	case code >= 3000 && code <= 4999:
		return true
	}
	return false
}
