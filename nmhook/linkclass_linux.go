// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

// Classify says what is behind l, from the sysfs at the links' root
// (DefaultSysfs unless UseSysfs changed it).
func (l *NetlinkLinks) Classify(link Link) Hardware {
	root := l.sysfs
	if root == "" {
		root = DefaultSysfs
	}
	return classifyLink(root, link)
}

// UseSysfs makes Classify read the sysfs mounted at root (tests).
func (l *NetlinkLinks) UseSysfs(root string) { l.sysfs = root }
