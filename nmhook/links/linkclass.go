// SPDX-License-Identifier: GPL-3.0-or-later

package links

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/mac-nmguard/mac-nmguard/policy"
)

// DefaultSysfs is where sysfs is mounted.
const DefaultSysfs = "/sys"

// Hardware is what sysfs says is behind a link.
type Hardware struct {
	Class  policy.Class
	Driver string // kernel driver of the bus device ("" none, or unreadable)
	Why    string // why Class is policy.ClassUnknown
}

// ClassifyLink reads what is behind link l from the sysfs mounted at root:
// a card when the interface has a bus device (root/class/net/NAME/device)
// or a Wi-Fi radio (NAME/phy80211: mac80211_hwsim's radios have one too),
// virtual when it has neither. Anything that cannot be read, or a sysfs
// entry of another device (its ifindex differs: a renamed link, or a sysfs
// mounted for another network namespace), gives unknown: the caller treats
// it as a card (fail closed).
func ClassifyLink(root string, l Link) Hardware {
	unknown := func(format string, args ...any) Hardware {
		return Hardware{Class: policy.ClassUnknown, Why: fmt.Sprintf(format, args...)}
	}
	if l.Name == "" || l.Name == "." || l.Name == ".." || strings.ContainsAny(l.Name, "/\x00") {
		return unknown("interface name %q cannot be looked up in sysfs", l.Name)
	}
	dir := filepath.Join(root, "class", "net", l.Name)
	b, err := os.ReadFile(filepath.Join(dir, "ifindex"))
	if err != nil {
		return unknown("sysfs: %v", err)
	}
	idx, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || idx != l.Index {
		return unknown("sysfs: %s says ifindex %q, the link has %d (renamed meanwhile, or sysfs of another network namespace)",
			filepath.Join(dir, "ifindex"), strings.TrimSpace(string(b)), l.Index)
	}
	for _, entry := range []string{"device", "phy80211"} {
		_, err := os.Lstat(filepath.Join(dir, entry))
		if err == nil {
			return Hardware{Class: policy.ClassCard, Driver: driverOf(dir)}
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return unknown("sysfs: %v", err)
		}
	}
	return Hardware{Class: policy.ClassVirtual}
}

// driverOf is the name of the driver bound to the interface's bus device
// (dir/device/driver links to .../drivers/NAME), "" when there is none.
func driverOf(dir string) string {
	target, err := os.Readlink(filepath.Join(dir, "device", "driver"))
	if err != nil {
		return ""
	}
	return filepath.Base(target)
}
