package bench

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"strconv"

	"github.com/gobwas/ws"
)

// Server frames are parsed by scanning for the few keys the bench needs
// instead of decoding the whole JSON: the node encodes with
// encoding/json, so a key followed by `":` can only be a real key (inside
// a string value every quote is escaped).

var (
	keyType        = []byte(`"type":"`)
	keyChat        = []byte(`"chat":"`)
	keySeq         = []byte(`"seq":`)
	keyMessageText = []byte(`"message":"`)
	keyClientMsgID = []byte(`"clientMsgId":"`)
	keyCode        = []byte(`"code":"`)
	keyRef         = []byte(`"ref":"`)
)

// frameType returns the message type of a server frame.
func frameType(b []byte) []byte { return stringField(b, keyType) }

// stringField returns the raw (unescaped) value of the first string field
// key in b, or nil.
func stringField(b, key []byte) []byte {
	i := bytes.Index(b, key)
	if i < 0 {
		return nil
	}
	b = b[i+len(key):]
	j := bytes.IndexByte(b, '"')
	if j < 0 {
		return nil
	}
	return b[:j]
}

// uintField returns the first unsigned number field key in b.
func uintField(b, key []byte) (uint64, bool) {
	i := bytes.Index(b, key)
	if i < 0 {
		return 0, false
	}
	return parseUint(b[i+len(key):])
}

// parseUint reads the decimal number at the start of b.
func parseUint(b []byte) (uint64, bool) {
	n, l := parseUintLen(b)
	return n, l > 0
}

// parseUintLen reads the decimal number at the start of b and its length.
func parseUintLen(b []byte) (uint64, int) {
	var n uint64
	i := 0
	for ; i < len(b) && i < 20 && b[i] >= '0' && b[i] <= '9'; i++ {
		n = n*10 + uint64(b[i]-'0')
	}
	return n, i
}

// stamp is what every bench message carries: its sender (a connection
// index of the run), the sender's counter and the send time.
type stamp struct {
	sender  int
	counter uint32
	sentNs  int64
}

// parseStamp reads "b:<sender>:<counter>:<unixnano>" (message texts) or
// "<sender>-<counter>-<unixnano>" (client message ids).
func parseStamp(b []byte, sep byte) (stamp, bool) {
	if sep == ':' {
		if len(b) < 2 || b[0] != 'b' || b[1] != ':' {
			return stamp{}, false
		}
		b = b[2:]
	}
	var v [3]uint64
	for k := range v {
		n, l := parseUintLen(b)
		if l == 0 {
			return stamp{}, false
		}
		v[k] = n
		b = b[l:]
		if k < 2 {
			if len(b) == 0 || b[0] != sep {
				return stamp{}, false
			}
			b = b[1:]
		}
	}
	if len(b) != 0 || v[1] > 1<<32-1 {
		return stamp{}, false
	}
	return stamp{sender: int(v[0]), counter: uint32(v[1]), sentNs: int64(v[2])}, true
}

// newMessageFields are the parts of a NewMessage the accounting needs.
type newMessageFields struct {
	chat []byte
	seq  uint64
	st   stamp
	ok   bool // the text is a bench stamp
}

// parseNewMessage reads a NewMessage frame.
func parseNewMessage(b []byte) (f newMessageFields, valid bool) {
	f.chat = stringField(b, keyChat)
	var ok bool
	if f.seq, ok = uintField(b, keySeq); !ok || f.chat == nil {
		return f, false
	}
	f.st, f.ok = parseStamp(stringField(b, keyMessageText), ':')
	return f, true
}

// appendSendMessage appends the JSON of a SendMessage of st to chatID.
func appendSendMessage(dst []byte, chatID string, st stamp) []byte {
	dst = append(dst, `{"channel":"chat-room","message":{"type":"SendMessage","contents":{"chat":"`...)
	dst = append(dst, chatID...)
	dst = append(dst, `","message":"b:`...)
	dst = appendStamp(dst, st, ':')
	dst = append(dst, `","clientMsgId":"`...)
	dst = appendStamp(dst, st, '-')
	return append(dst, `"}}}`...)
}

func appendStamp(dst []byte, st stamp, sep byte) []byte {
	dst = strconv.AppendUint(dst, uint64(st.sender), 10)
	dst = append(dst, sep)
	dst = strconv.AppendUint(dst, uint64(st.counter), 10)
	dst = append(dst, sep)
	return strconv.AppendInt(dst, st.sentNs, 10)
}

// appendHistory appends the JSON of a History request.
func appendHistory(dst []byte, chatID string, before uint64, limit int) []byte {
	dst = append(dst, `{"channel":"chat-room","message":{"type":"History","contents":{"chat":"`...)
	dst = append(dst, chatID...)
	dst = append(dst, `","limit":`...)
	dst = strconv.AppendInt(dst, int64(limit), 10)
	if before > 0 {
		dst = append(dst, `,"before":`...)
		dst = strconv.AppendUint(dst, before, 10)
	}
	return append(dst, `}}}`...)
}

// appendClientFrame appends payload as one masked text frame (RFC 6455
// section 5.3: every client frame is masked).
func appendClientFrame(dst, payload []byte) []byte {
	var mask [4]byte
	_, _ = rand.Read(mask[:])
	h := ws.Header{Fin: true, OpCode: ws.OpText, Masked: true, Mask: mask, Length: int64(len(payload))}
	var hb [ws.MaxHeaderSize]byte
	n := headerInto(hb[:], h)
	dst = append(dst, hb[:n]...)
	start := len(dst)
	dst = append(dst, payload...)
	ws.Cipher(dst[start:], mask, 0)
	return dst
}

// parseHeader reads the frame header at the start of b and its length;
// ok is false while b holds only part of it.
func parseHeader(b []byte) (h ws.Header, n int, ok bool) {
	if len(b) < 2 {
		return h, 0, false
	}
	h.Fin = b[0]&0x80 != 0
	h.Rsv = (b[0] & 0x70) >> 4
	h.OpCode = ws.OpCode(b[0] & 0x0f)
	h.Masked = b[1]&0x80 != 0
	n = 2
	switch l := b[1] & 0x7f; l {
	case 126:
		if len(b) < 4 {
			return h, 0, false
		}
		h.Length, n = int64(binary.BigEndian.Uint16(b[2:])), 4
	case 127:
		if len(b) < 10 {
			return h, 0, false
		}
		h.Length, n = int64(binary.BigEndian.Uint64(b[2:])), 10
	default:
		h.Length = int64(l)
	}
	if h.Masked {
		if len(b) < n+4 {
			return h, 0, false
		}
		copy(h.Mask[:], b[n:n+4])
		n += 4
	}
	return h, n, true
}

// headerInto writes a frame header into b (at least ws.MaxHeaderSize).
func headerInto(b []byte, h ws.Header) int {
	w := fixedWriter{b: b[:0]}
	_ = ws.WriteHeader(&w, h)
	return len(w.b)
}

type fixedWriter struct{ b []byte }

func (w *fixedWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}
