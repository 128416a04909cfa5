// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
)

// newLogger logs to w at level, as JSON lines or as text. When w is the
// journal's stream (journaldStream), each line starts with its syslog
// priority ("<4>" for a warning), so `journalctl -p warning` shows the
// service's warnings and errors; elsewhere (a terminal, a file) lines are
// plain.
func newLogger(w io.Writer, level string, json bool) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: use debug, info, warn or error", level)
	}
	o := &slog.HandlerOptions{Level: lv}
	mk := func(w io.Writer) slog.Handler {
		if json {
			return slog.NewJSONHandler(w, o)
		}
		return slog.NewTextHandler(w, o)
	}
	if f, ok := w.(*os.File); ok && journaldStream(f, os.Getenv("JOURNAL_STREAM")) {
		return slog.New(newPriorityHandler(w, mk)), nil
	}
	return slog.New(mk(w)), nil
}

// Syslog priorities (sd-daemon.h's SD_ERR ... SD_DEBUG).
const (
	prioErr     = 3
	prioWarning = 4
	prioInfo    = 6
	prioDebug   = 7
)

// syslogPriority maps a slog level to a syslog priority.
func syslogPriority(l slog.Level) int {
	switch {
	case l >= slog.LevelError:
		return prioErr
	case l >= slog.LevelWarn:
		return prioWarning
	case l >= slog.LevelInfo:
		return prioInfo
	default:
		return prioDebug
	}
}

// priorityHandler sends each record to the handler of its priority, whose
// writer starts every line with "<N>" (slog's handlers write a record in
// one Write).
type priorityHandler struct {
	byPrio map[int]slog.Handler
}

func newPriorityHandler(w io.Writer, mk func(io.Writer) slog.Handler) *priorityHandler {
	h := &priorityHandler{byPrio: map[int]slog.Handler{}}
	for _, p := range []int{prioErr, prioWarning, prioInfo, prioDebug} {
		h.byPrio[p] = mk(prefixWriter{w: w, prefix: []byte(fmt.Sprintf("<%d>", p))})
	}
	return h
}

func (h *priorityHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.byPrio[syslogPriority(l)].Enabled(ctx, l)
}

func (h *priorityHandler) Handle(ctx context.Context, r slog.Record) error {
	return h.byPrio[syslogPriority(r.Level)].Handle(ctx, r)
}

func (h *priorityHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return h.with(func(x slog.Handler) slog.Handler { return x.WithAttrs(as) })
}

func (h *priorityHandler) WithGroup(name string) slog.Handler {
	return h.with(func(x slog.Handler) slog.Handler { return x.WithGroup(name) })
}

func (h *priorityHandler) with(f func(slog.Handler) slog.Handler) *priorityHandler {
	n := &priorityHandler{byPrio: make(map[int]slog.Handler, len(h.byPrio))}
	for p, x := range h.byPrio {
		n.byPrio[p] = f(x)
	}
	return n
}

// prefixWriter writes prefix and p in one Write, so concurrent records
// never interleave.
type prefixWriter struct {
	w      io.Writer
	prefix []byte
}

func (pw prefixWriter) Write(p []byte) (int, error) {
	buf := make([]byte, 0, len(pw.prefix)+len(p))
	buf = append(append(buf, pw.prefix...), p...)
	if _, err := pw.w.Write(buf); err != nil {
		return 0, err
	}
	return len(p), nil
}
