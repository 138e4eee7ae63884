package node

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/natterchat/natter/node/handshake"
)

// listenAdmin opens the admin port (AdminListen) and serves AdminHandler
// on it until Shutdown, which closes it last so that metrics stay
// readable through a drain.
func (n *Node) listenAdmin() error {
	if n.cfg.AdminListen == "" {
		return nil
	}
	l, err := net.Listen("tcp", n.cfg.AdminListen)
	if err != nil {
		return fmt.Errorf("listen on admin address %s: %w", n.cfg.AdminListen, err)
	}
	n.adminAddr = l.Addr()
	n.admin = &http.Server{
		Handler:           n.AdminHandler(),
		ReadHeaderTimeout: n.cfg.HeaderTimeout,
		MaxHeaderBytes:    handshake.MaxHead,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(n.log.Handler(), slog.LevelDebug),
	}
	n.adminDone = make(chan struct{})
	go func() {
		defer close(n.adminDone)
		if err := n.admin.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.log.Error("admin port stopped", slog.Any("err", err))
		}
	}()
	n.log.Info("admin port", slog.String("addr", n.adminAddr.String()))
	return nil
}

// closeAdmin stops the admin port, if any.
func (n *Node) closeAdmin() {
	if n.admin == nil {
		return
	}
	_ = n.admin.Close()
	<-n.adminDone
}

// AdminAddr returns the admin port's address, or nil without
// AdminListen.
func (n *Node) AdminAddr() net.Addr { return n.adminAddr }
