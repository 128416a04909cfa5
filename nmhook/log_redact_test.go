// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/mac-nmguard/mac-nmguard/nmhook/gate"
)

func TestAddrRedactor(t *testing.T) {
	const real, private = "00:1b:21:00:00:01", "02:1b:21:9a:bc:de"
	logAll := func(log *slog.Logger) {
		log = log.With(slog.String("part", "gate"), slog.String("real", real))
		log.Info("netlink: device appeared", slog.String("device", "eth0"), slog.String("address", real), slog.String("real_source", gate.RealFromKernel))
		log.Info("gate: new -> spoofed (device appeared: set "+private+" (keep-vendor))", slog.String("device", "eth0"), slog.String("mode", "keep-vendor"))
		log.Warn("violation: refused", slog.String("device", "eth0"), slog.String("reason", "address equals the real address "+strings.ToUpper(real)),
			slog.Group("g", slog.String("address", private)), slog.Any("err", errors.New("cannot set 00-1B-21-00-00-01")))
		log.Error("link: down failed", slog.String("device", "eth0"), slog.Any("addrs", []string{private}))
	}
	for _, json := range []bool{false, true} {
		var buf bytes.Buffer
		o := &slog.HandlerOptions{Level: slog.LevelInfo}
		var h slog.Handler = slog.NewTextHandler(&buf, o)
		if json {
			h = slog.NewJSONHandler(&buf, o)
		}
		logAll(slog.New(redactAddresses(h)))
		out := strings.ToLower(buf.String())
		for _, a := range []string{real, private, "00-1b-21-00-00-01"} {
			if strings.Contains(out, a) {
				t.Errorf("json=%v: an info-level log holds %s:\n%s", json, a, buf.String())
			}
		}
		for _, want := range []string{"device appeared", "eth0", "keep-vendor", "violation: refused", "real_source", "link: down failed", hiddenAddr} {
			if !strings.Contains(buf.String(), want) {
				t.Errorf("json=%v: the log lost %q:\n%s", json, want, buf.String())
			}
		}
		if strings.Count(buf.String(), "\n") != 4 {
			t.Errorf("json=%v: want 4 lines:\n%s", json, buf.String())
		}
	}
	// At debug level the operator asked for everything.
	var buf bytes.Buffer
	logAll(slog.New(redactAddresses(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	for _, a := range []string{real, private} {
		if !strings.Contains(buf.String(), a) {
			t.Errorf("a debug-level log lacks %s:\n%s", a, buf.String())
		}
	}
}
