package nmhook

import (
	"errors"
	"io/fs"
	"log/slog"
	"os"
)

// rfkill event (linux/rfkill.h): idx u32, type u8, op u8, soft u8, hard u8.
const (
	rfkillTypeWLAN    = 1
	rfkillOpChangeAll = 3
)

// softBlockWireless soft-blocks (or unblocks) every wireless radio through
// /dev/rfkill during the hold. Where the kernel has no rfkill (as on the
// test machines) it says so and does nothing: the hold's link-down and
// drop-all backstop still apply.
func softBlockWireless(log *slog.Logger, block bool) {
	f, err := os.OpenFile("/dev/rfkill", os.O_WRONLY, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			log.Info("hold: no rfkill in this kernel; radios are not soft-blocked (links stay down and the backstop drops every frame)")
			return
		}
		log.Warn("hold: rfkill unavailable", slog.String("error", err.Error()))
		return
	}
	defer f.Close()
	soft := byte(0)
	if block {
		soft = 1
	}
	ev := []byte{0, 0, 0, 0, rfkillTypeWLAN, rfkillOpChangeAll, soft, 0}
	if _, err := f.Write(ev); err != nil {
		log.Warn("hold: rfkill write failed", slog.String("error", err.Error()))
		return
	}
	log.Info("hold: wireless radios soft-blocked", slog.Bool("blocked", block))
}
