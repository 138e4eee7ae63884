package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/natterchat/natter/node/chat"
	"github.com/natterchat/natter/node/wire"
)

// broadcast publishes a protocol frame to every device of the cluster.
func (a *API) broadcast(w http.ResponseWriter, r *http.Request) {
	var raw json.RawMessage
	if !decodeBody(w, r, &raw) {
		return
	}
	if _, err := wire.DecodeEnvelope(raw); err != nil {
		ce := chat.ClientError(err)
		WriteError(w, http.StatusBadRequest, ce.Code, ce.Message)
		return
	}
	var frame bytes.Buffer
	if err := json.Compact(&frame, raw); err != nil {
		WriteError(w, http.StatusBadRequest, CodeInvalidJSON, err.Error())
		return
	}
	if err := a.cfg.Broadcast(frame.Bytes()); err != nil {
		a.writeOpError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"accepted": true})
}

// StatsHandler serves the node's snapshot (GET /api/stats).
func (a *API) StatsHandler() http.Handler {
	return methods{http.MethodGet: func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, a.cfg.Stats())
	}}
}
