package wsconn

import "github.com/gobwas/ws"

// CloseReason is why a connection ended; it maps to a close code, a log field
// and a metric label.
type CloseReason uint8

// Close reasons. The comment names the close code sent to the client
// (RFC 6455 §7.4.1; 4xxx are natter's application codes).
const (
	ReasonUnknown         CloseReason = iota // 1000: no reason given
	ReasonClientClosed                       // the client sent a close frame or EOF; we echo its code (1000 if none)
	ReasonGoingAway                          // 1001: server drain / shutdown
	ReasonProtocolError                      // 1002: unmasked client frame, bad opcode, fragmented control frame, bad continuation, reserved bits
	ReasonUnsupportedData                    // 1003: binary frame
	ReasonInvalidUTF8                        // 1007: text message (after reassembly) not valid UTF-8, or invalid close reason
	ReasonPolicy                             // 1008: policy violation (auth etc.)
	ReasonTooBig                             // 1009: message over Config.MaxMessageSize
	ReasonInternal                           // 1011
	ReasonTryAgain                           // 1013: overloaded
	ReasonIdleTimeout                        // 4000: silent past IdleTimeout, or a partial frame stalled past IdleTimeout
	ReasonSlowConsumer                       // 4001: outbound queue over MaxOutboundBytes
	ReasonUnauthorized                       // 4003: token expired / revoked
	ReasonIOError                            // socket error/reset: no close frame can be sent
)

// Application close codes (RFC 6455 §7.4.2, range 4000-4999).
const (
	StatusIdleTimeout  ws.StatusCode = 4000
	StatusSlowConsumer ws.StatusCode = 4001
	StatusUnauthorized ws.StatusCode = 4003
)

var reasonNames = [...]string{
	ReasonUnknown:         "unknown",
	ReasonClientClosed:    "client_closed",
	ReasonGoingAway:       "going_away",
	ReasonProtocolError:   "protocol_error",
	ReasonUnsupportedData: "unsupported_data",
	ReasonInvalidUTF8:     "invalid_utf8",
	ReasonPolicy:          "policy",
	ReasonTooBig:          "too_big",
	ReasonInternal:        "internal",
	ReasonTryAgain:        "try_again",
	ReasonIdleTimeout:     "idle_timeout",
	ReasonSlowConsumer:    "slow_consumer",
	ReasonUnauthorized:    "unauthorized",
	ReasonIOError:         "io_error",
}

var reasonCodes = [...]ws.StatusCode{
	ReasonUnknown:         ws.StatusNormalClosure,
	ReasonClientClosed:    ws.StatusNormalClosure,
	ReasonGoingAway:       ws.StatusGoingAway,
	ReasonProtocolError:   ws.StatusProtocolError,
	ReasonUnsupportedData: ws.StatusUnsupportedData,
	ReasonInvalidUTF8:     ws.StatusInvalidFramePayloadData,
	ReasonPolicy:          ws.StatusPolicyViolation,
	ReasonTooBig:          ws.StatusMessageTooBig,
	ReasonInternal:        ws.StatusInternalServerError,
	ReasonTryAgain:        1013,
	ReasonIdleTimeout:     StatusIdleTimeout,
	ReasonSlowConsumer:    StatusSlowConsumer,
	ReasonUnauthorized:    StatusUnauthorized,
	ReasonIOError:         ws.StatusAbnormalClosure,
}

// String returns a stable snake_case label for logs and metrics.
func (r CloseReason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "unknown"
}

// Code returns the close code sent to the client for r. ReasonClientClosed
// maps to 1000, though the connection echoes the client's own code.
// ReasonIOError maps to 1006, which is never sent on the wire.
func (r CloseReason) Code() ws.StatusCode {
	if int(r) < len(reasonCodes) {
		return reasonCodes[r]
	}
	return ws.StatusNormalClosure
}
