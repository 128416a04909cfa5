// SPDX-License-Identifier: GPL-3.0-or-later

//go:build !linux

package nmhook

import (
	"fmt"
	"io/fs"
)

// OpenRfkill: rfkill is Linux's.
func OpenRfkill() (RfkillConn, error) {
	return nil, fmt.Errorf("rfkill needs Linux: %w", fs.ErrNotExist)
}
