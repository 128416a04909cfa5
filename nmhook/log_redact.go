// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
)

// A persistent journal must not link a card's real address with the
// private one it was given: the service's log holds interface names, modes
// and reasons, and network card addresses only when it logs at debug
// level. Every line goes through addrRedactor, so a line added later cannot
// leak one either. The D-Bus API (ListDevices, Violation) still gives
// addresses: it is not written to disk.

// macOnly matches a value that is nothing but an address: such an
// attribute is left out.
var macOnly = regexp.MustCompile(`(?i)^[0-9a-f]{2}(?:[:-][0-9a-f]{2}){5}$`)

// macPattern matches a 6-byte hardware address as Go and the kernel print
// it (colons; dashes too).
var macPattern = regexp.MustCompile(`(?i)\b[0-9a-f]{2}(?:[:-][0-9a-f]{2}){5}\b`)

// hiddenAddr replaces an address inside a message or a reason in a log
// that is not at debug level.
const hiddenAddr = "[address]"

// addrRedactor is a slog.Handler that, unless the handler it wraps logs at
// debug level, leaves out every attribute whose value is a hardware
// address and replaces the addresses inside the message and other values.
type addrRedactor struct {
	h slog.Handler
}

// redactAddresses wraps h (a no-op when h already redacts).
func redactAddresses(h slog.Handler) slog.Handler {
	if _, ok := h.(addrRedactor); ok {
		return h
	}
	return addrRedactor{h: h}
}

func (r addrRedactor) debug(ctx context.Context) bool { return r.h.Enabled(ctx, slog.LevelDebug) }

func (r addrRedactor) Enabled(ctx context.Context, l slog.Level) bool { return r.h.Enabled(ctx, l) }

func (r addrRedactor) Handle(ctx context.Context, rec slog.Record) error {
	if r.debug(ctx) {
		return r.h.Handle(ctx, rec)
	}
	out := slog.NewRecord(rec.Time, rec.Level, redactText(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(redactAttr(a))
		return true
	})
	return r.h.Handle(ctx, out)
}

func (r addrRedactor) WithAttrs(as []slog.Attr) slog.Handler {
	if !r.debug(context.Background()) {
		red := make([]slog.Attr, len(as))
		for i, a := range as {
			red[i] = redactAttr(a)
		}
		as = red
	}
	return addrRedactor{h: r.h.WithAttrs(as)}
}

func (r addrRedactor) WithGroup(name string) slog.Handler {
	return addrRedactor{h: r.h.WithGroup(name)}
}

func redactText(s string) string {
	return macPattern.ReplaceAllLiteralString(s, hiddenAddr)
}

func redactAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		s := v.String()
		if macOnly.MatchString(s) {
			return slog.Attr{} // left out by every handler
		}
		if macPattern.MatchString(s) {
			return slog.String(a.Key, redactText(s))
		}
	case slog.KindGroup:
		g := v.Group()
		red := make([]any, len(g))
		for i, ga := range g {
			red[i] = redactAttr(ga)
		}
		return slog.Group(a.Key, red...)
	case slog.KindAny:
		if s := fmt.Sprint(v.Any()); macPattern.MatchString(s) {
			return slog.String(a.Key, redactText(s))
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}
