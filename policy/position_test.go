// SPDX-License-Identifier: GPL-3.0-or-later

package policy

import "testing"

func TestScanPositions(t *testing.T) {
	src := "# comment [x]\n" + // 1
		"spoof = true # [[device]]\n" + // 2
		"a = \"\"\"\n" + // 3
		"[[device]]\n" + // 4  (inside a string)
		"mode = 1\n" + // 5  (inside a string)
		"\"\"\"\n" + // 6
		"b = [\n" + // 7
		"  1, # ]\n" + // 8
		"  ']',\n" + // 9
		"]\n" + // 10
		"[ default ]\n" + // 11
		"  mode = 'x'\n" + // 12
		"[[device]]\n" + // 13
		"\"inter face\" = 1\n" + // 14
		"[[device]]\n" + // 15
		"dotted.key = 2\n" + // 16
		"lit = '''\n" + // 17
		"''''\n" + // 18
		"late = 3\n" // 19
	kp := scanPositions(src)
	cases := []struct {
		path []string
		want position
	}{
		{[]string{"spoof"}, position{2, 1}},
		{[]string{"spoof", valueSeg}, position{2, 9}},
		{[]string{"a"}, position{3, 1}},
		{[]string{"b"}, position{7, 1}},
		{[]string{"default"}, position{11, 1}},
		{[]string{"default", "mode"}, position{12, 3}},
		{[]string{"default", "mode", valueSeg}, position{12, 10}},
		{[]string{"device"}, position{13, 1}},
		{[]string{"device[0]"}, position{13, 1}},
		{[]string{"device[0]", "inter face"}, position{14, 1}},
		{[]string{"device[1]"}, position{15, 1}},
		{[]string{"device[1]", "dotted", "key"}, position{16, 1}},
		{[]string{"device[1]", "late"}, position{19, 1}},
	}
	for _, c := range cases {
		if got, ok := kp[pathKey(c.path)]; !ok || got != c.want {
			t.Errorf("%q at %v (recorded %t); want %v", c.path, got, ok, c.want)
		}
	}
	if _, ok := kp[pathKey([]string{"mode"})]; ok {
		t.Error("a key inside a multi-line string was recorded")
	}
	// Fallbacks: an unrecorded key takes its parent's position, then 1:1.
	if got := kp.lookup([]string{"device[1]", "nope"}); got != (position{15, 1}) {
		t.Errorf("fallback to parent = %v", got)
	}
	if got := kp.lookup([]string{"nope"}); got != (position{1, 1}) {
		t.Errorf("fallback to 1:1 = %v", got)
	}
	if got := kp.value([]string{"device[1]"}); got != (position{15, 1}) {
		t.Errorf("value of a table = %v", got)
	}
}

// The scanner must terminate and not panic on text the TOML library
// would reject (it only ever sees accepted text, but be safe).
func TestScanPositionsGarbage(t *testing.T) {
	for _, s := range []string{"[", "[[", "a", "a =", "\"", "'''", "\"\"\"\\", "[a.\"b", "a.b.", "= 1", "[[a]", "x = [1,\n", "k = \"\\"} {
		scanPositions(s)
	}
}
