package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
)

// link is the coordinator's end of one worker.
type link interface {
	send(command) error
	recv() (event, error)
	// wait ends the worker (after close) and reports how it ended.
	wait() error
}

// inProcess runs a worker on goroutines of this process.
type inProcess struct {
	cmds   chan command
	events chan event
	done   chan error
}

func startInProcess(ctx context.Context) *inProcess {
	l := &inProcess{cmds: make(chan command, 1), events: make(chan event, 16), done: make(chan error, 1)}
	go func() {
		err := serveWorker(ctx,
			func() (command, error) {
				c, ok := <-l.cmds
				if !ok {
					return c, io.EOF
				}
				return c, nil
			},
			func(e event) error { l.events <- e; return nil })
		if err != nil {
			l.events <- event{Ev: "error", Error: err.Error()}
		}
		close(l.events)
		l.done <- err
	}()
	return l
}

func (l *inProcess) send(c command) error { l.cmds <- c; return nil }

func (l *inProcess) recv() (event, error) {
	e, ok := <-l.events
	if !ok {
		return e, errors.New("bench: worker ended")
	}
	return e, nil
}

func (l *inProcess) wait() error {
	close(l.cmds)
	for range l.events {
	}
	return <-l.done
}

// process runs a worker as a child process: the same binary's "worker"
// subcommand, JSON lines over its stdin and stdout.
type process struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	dec   *json.Decoder
	enc   *json.Encoder
	once  sync.Once
}

func startProcess(ctx context.Context, argv []string) (*process, error) {
	if len(argv) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("bench: find own binary for workers: %w", err)
		}
		argv = []string{exe, "worker"}
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("bench: worker stdin: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("bench: worker stdout: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: start worker %s: %w", argv[0], err)
	}
	return &process{cmd: cmd, stdin: stdin, dec: json.NewDecoder(stdout), enc: json.NewEncoder(stdin)}, nil
}

func (p *process) send(c command) error {
	if err := p.enc.Encode(c); err != nil {
		return fmt.Errorf("bench: send %s to worker %d: %w", c.Op, p.cmd.Process.Pid, err)
	}
	return nil
}

func (p *process) recv() (event, error) {
	var e event
	if err := p.dec.Decode(&e); err != nil {
		return e, fmt.Errorf("bench: read from worker %d: %w", p.cmd.Process.Pid, err)
	}
	return e, nil
}

func (p *process) wait() error {
	var err error
	p.once.Do(func() {
		p.stdin.Close()
		err = p.cmd.Wait()
	})
	return err
}
