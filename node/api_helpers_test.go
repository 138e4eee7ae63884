package node

import (
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/natterchat/natter/node/wire"
)

type apiChat struct {
	ID, Name, Kind, CreatedBy string
	CreatedAt                 time.Time
}

type apiChatWithRole struct {
	apiChat
	Role     string
	JoinedAt time.Time
}

type apiChatDetail struct {
	apiChat
	Members []wire.MemberInfo
}

type apiOnline struct {
	User, Name string
	Devices    []struct {
		Device, Node string
		ConnectedAt  time.Time
	}
}

type apiMsg struct {
	Seq                             uint64
	ID, User, Name, Device, Message string
	PostedAt                        time.Time
}

type apiPosted struct {
	Chat, ID  string
	Seq       uint64
	Duplicate bool
}

// apiErrorBody is the API's error shape.
type apiErrorBody struct {
	Error struct{ Code, Message string }
}

// wantAPIError makes a request that must fail with status and code in the
// documented error shape, and returns the error.
func wantAPIError(t testing.TB, tn *testNode, method, path, token string, body any, status int, code string) (e struct{ Code, Message string }) {
	t.Helper()
	var out apiErrorBody
	st := tn.api(method, path, token, body, &out)
	if st != status || out.Error.Code != code || out.Error.Message == "" {
		t.Errorf("%s %s: %d %+v, want %d %s", method, path, st, out.Error, status, code)
	}
	return out.Error
}

// postMessage posts text to a chat over HTTP and returns the answer.
func postMessage(t testing.TB, tn *testNode, a account, chatID, text, clientMsgID string) apiPosted {
	t.Helper()
	var p apiPosted
	body := map[string]string{"text": text}
	if clientMsgID != "" {
		body["clientMsgId"] = clientMsgID
	}
	if st := tn.api("POST", "/api/chats/"+chatID+"/messages", a.Token, body, &p); st != http.StatusCreated {
		t.Fatalf("post %q: status %d", text, st)
	}
	return p
}

// isMemberOf reads the chat's members through the API.
func isMemberOf(t testing.TB, tn *testNode, a account, chatID string) bool {
	t.Helper()
	var got apiChatDetail
	if st := tn.api("GET", "/api/chats/"+chatID, a.Token, nil, &got); st != http.StatusOK {
		t.Fatalf("get chat: %d", st)
	}
	for _, m := range got.Members {
		if m.User == a.ID {
			return true
		}
	}
	return false
}

// httpGet returns the status and body of a plain GET.
func httpGet(t testing.TB, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
