// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"time"

	"golang.org/x/sys/unix"
)

// bootStarted is when this boot started (now minus CLOCK_BOOTTIME); zero
// when it cannot be read.
func bootStarted() time.Time {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		return time.Time{}
	}
	return time.Now().Add(-time.Duration(ts.Nano()))
}
