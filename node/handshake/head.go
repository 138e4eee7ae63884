// Package handshake reads the head of a WebSocket upgrade request (the
// request line and the header lines) within limits, before any of it is
// parsed: a line and the whole head are bounded, so a client cannot make
// the node buffer more than that, and the Sec-WebSocket-Key is checked as
// RFC 6455 §4.2.1 says. It also admits connections per source address, so
// that handshakes left half-finished by one client cannot take every
// slot.
//
// It is not the upgrade itself (gobwas/ws parses the head and writes the
// 101, package node decides who may connect) and not HTTP.
package handshake

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"net/http"
)

// Limits of a request head.
const (
	// MaxLine is the longest request or header line, CRLF included.
	MaxLine = 8 << 10
	// MaxHead is the longest head, the blank line included.
	MaxHead = 32 << 10
)

// Errors of ReadHead; Status gives each one's HTTP status.
var (
	ErrURITooLong   = errors.New("handshake: request line too long")
	ErrLineTooLong  = errors.New("handshake: header line too long")
	ErrHeadTooLarge = errors.New("handshake: request head too large")
	ErrBadKey       = errors.New("handshake: Sec-WebSocket-Key is not 16 bytes in base64")
)

// Status is the HTTP status that answers err: 414, 431 or 400.
func Status(err error) int {
	switch {
	case errors.Is(err, ErrURITooLong):
		return http.StatusRequestURITooLong
	case errors.Is(err, ErrLineTooLong), errors.Is(err, ErrHeadTooLarge):
		return http.StatusRequestHeaderFieldsTooLarge
	default:
		return http.StatusBadRequest
	}
}

// ReadHead reads a request head from br up to and including its blank
// line and returns it, leaving whatever the client sent after it (early
// WebSocket frames) in br. It fails as soon as a line passes MaxLine or
// the head passes MaxHead, without reading further, and when a
// Sec-WebSocket-Key header does not decode to 16 bytes. A read error
// (the deadline, EOF) is returned as it is.
func ReadHead(br *bufio.Reader) ([]byte, error) {
	// One allocation for a head that came whole (as heads do), which
	// is what is buffered, early frames included, when it is read.
	head := make([]byte, 0, min(max(br.Buffered(), 256), MaxHead))
	first := true
	for {
		start := len(head)
		var err error
		head, err = appendLine(br, head)
		if err != nil {
			if first && errors.Is(err, ErrLineTooLong) {
				return nil, ErrURITooLong
			}
			return nil, err
		}
		line := head[start:]
		if isBlank(line) {
			return head, nil
		}
		if !first {
			if err := checkHeader(line); err != nil {
				return nil, err
			}
		}
		first = false
	}
}

// appendLine appends one line, LF included, to head, failing past
// MaxLine or when head would pass MaxHead.
func appendLine(br *bufio.Reader, head []byte) ([]byte, error) {
	start := len(head)
	for {
		frag, err := br.ReadSlice('\n')
		if len(head)-start+len(frag) > MaxLine {
			return head, ErrLineTooLong
		}
		if len(head)+len(frag) > MaxHead {
			return head, ErrHeadTooLarge
		}
		head = append(head, frag...)
		switch {
		case err == nil:
			return head, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			return head, err
		}
	}
}

func isBlank(line []byte) bool {
	return len(line) == 1 || (len(line) == 2 && line[0] == '\r')
}

var keyName = []byte("sec-websocket-key")

// checkHeader checks one header line the upgrader would take as it is.
func checkHeader(line []byte) error {
	name, value, ok := bytes.Cut(line, []byte{':'})
	if !ok || !bytes.EqualFold(bytes.TrimSpace(name), keyName) {
		return nil
	}
	key := bytes.TrimSpace(value)
	var raw [18]byte
	if len(key) != 24 {
		return ErrBadKey
	}
	if n, err := base64.StdEncoding.Decode(raw[:], key); err != nil || n != 16 {
		return ErrBadKey
	}
	return nil
}
