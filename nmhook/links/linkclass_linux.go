// SPDX-License-Identifier: GPL-3.0-or-later

package links

// Classify says what is behind l, from the sysfs at the links' root
// (DefaultSysfs unless UseSysfs changed it).
func (l *Netlink) Classify(link Link) Hardware {
	root := l.sysfs
	if root == "" {
		root = DefaultSysfs
	}
	return ClassifyLink(root, link)
}

// UseSysfs makes Classify read the sysfs mounted at root (tests).
func (l *Netlink) UseSysfs(root string) { l.sysfs = root }
