package main

import (
	"io"
	"testing"
	"time"
)

// TestChatEditsAndReplies types /edit, /react, /reply and /delete in an
// interactive session and reads what it prints of them, then the
// history that folds them.
func TestChatEditsAndReplies(t *testing.T) {
	url := chatNode(t)
	in, typed := io.Pipe()
	t.Cleanup(func() { typed.Close() })
	erin := startChat(t, in, "--url", url, "--user", "erin", "--password", "erin-password", "--register", "--room", "#edits")
	waitFor(t, &erin.out, "joined #edits", 30*time.Second)
	typeLine := func(line, want string) {
		t.Helper()
		if _, err := io.WriteString(typed, line+"\n"); err != nil {
			t.Fatal(err)
		}
		waitFor(t, &erin.out, want, 30*time.Second)
	}
	typeLine("helo", "#1 erin: helo")
	typeLine("/edit 1 hello", "* erin edited #1: hello")
	typeLine("/react 1 👍", "* erin reacted 👍 to #1")
	typeLine("/reply 1 answering", `erin: [re #1 erin "hello"] answering`)
	typeLine("/history 5", "hello (edited) 👍1")
	typeLine("/edit x", "! usage: /edit SEQ TEXT")
	typeLine("/react 1 nope", "! bad_emoji: ")
	typeLine("/delete 1", "* erin deleted #1")
	typeLine("/edit 1 again", "! message_deleted: ")
	typeLine("/history 5", "#1 (deleted)")
	typeLine("/quit", "")
	if err := erin.wait(t); err != nil {
		t.Fatalf("erin: %v\n%s", err, erin.out.String())
	}
}
