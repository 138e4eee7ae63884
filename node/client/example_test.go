package client_test

import (
	"context"
	"fmt"
	"log"

	"github.com/natterchat/natter/node/client"
	"github.com/natterchat/natter/node/wire"
)

// A user's session: join a room, send a message and wait for the node to
// store it, print what arrives. The session reconnects and resumes on
// its own; a message sent while it is away goes once it is back.
func ExampleSession() {
	ctx := context.Background()
	s, err := client.Connect(ctx, client.SessionConfig{
		URL: "ws://127.0.0.1:8080/ws",
		// Called before every dial; refused says the node refused the
		// last token (log in again then, POST /api/sessions).
		Token: func(ctx context.Context, refused bool) (string, error) { return "TOKEN", nil },
	})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	if err := s.Join("lobby", 20); err != nil { // then the newest 20 messages
		log.Fatal(err)
	}
	for ev := range s.Events() {
		switch ev.Kind {
		case client.EventFrame:
			switch ev.Frame.Type() {
			case wire.TypeJoinedRoom:
				var e wire.MemberEvent
				if ev.Frame.Decode(&e) == nil && e.User == s.Welcome().User {
					// Sent with a fresh clientMsgId; stored once however
					// often it goes.
					_, res := s.Send(wire.SendMessage{ChatRef: wire.ChatRef{Chat: e.Chat}, Message: "hello"})
					go func() {
						if r := <-res; r.Err != nil {
							log.Printf("not sent: %v", r.Err)
						}
					}()
				}
			case wire.TypeNewMessage:
				var m wire.NewMessage
				if ev.Frame.Decode(&m) == nil {
					fmt.Printf("%s: %s\n", m.Name, m.Message)
				}
			}
		case client.EventDisconnected:
			log.Printf("disconnected (%v); again in %v", ev.Err, ev.RetryIn)
		}
	}
}
