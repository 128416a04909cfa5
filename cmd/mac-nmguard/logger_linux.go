// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"fmt"
	"os"
	"syscall"
)

// journaldStream reports whether f is the journal stream that systemd
// names in JOURNAL_STREAM ("DEVICE:INODE"), as sd_journal_stream_fd(3)
// says to check: a child that inherited the variable but writes elsewhere
// keeps plain lines.
func journaldStream(f *os.File, env string) bool {
	if env == "" {
		return false
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		return false
	}
	return env == fmt.Sprintf("%d:%d", st.Dev, st.Ino)
}
