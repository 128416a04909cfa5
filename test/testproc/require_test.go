// SPDX-License-Identifier: GPL-3.0-or-later

package testproc

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// verdictTB records how Skip and Require ended a test. Like a real
// testing.T, Skipf and Fatalf end the calling goroutine.
type verdictTB struct {
	testing.TB
	verdict string
}

func (v *verdictTB) Helper() {}

func (v *verdictTB) Skip(args ...any) {
	v.verdict = "skip: " + fmt.Sprint(args...)
	runtime.Goexit()
}

func (v *verdictTB) Skipf(format string, args ...any) {
	v.verdict = "skip: " + fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (v *verdictTB) Fatalf(format string, args ...any) {
	v.verdict = "fail: " + fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// verdict runs f on a verdictTB in a goroutine of its own and returns how
// it ended ("" when it returned).
func verdict(t *testing.T, f func(testing.TB)) string {
	v := &verdictTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(v)
	}()
	<-done
	return v.verdict
}

func TestSkipOrFail(t *testing.T) {
	for _, tt := range []struct {
		env, want string
	}{
		{"", "skip: integration test skipped: no frobnicator (set " + RequireEnv + "=1 to make this a failure)"},
		{"0", "skip: integration test skipped: no frobnicator"},
		{"1", "fail: integration test cannot run (" + RequireEnv + "=1): no frobnicator"},
	} {
		t.Setenv(RequireEnv, tt.env)
		if got := verdict(t, func(tb testing.TB) { Skip(tb, "no frobnicator") }); !strings.HasPrefix(got, tt.want) {
			t.Errorf("%s=%q: Skip: %q, want %q", RequireEnv, tt.env, got, tt.want)
		}
		if got := verdict(t, func(tb testing.TB) { Require(tb, "no frobnicator") }); !strings.HasPrefix(got, tt.want) {
			t.Errorf("%s=%q: Require: %q, want %q", RequireEnv, tt.env, got, tt.want)
		}
	}
	t.Setenv(RequireEnv, "1")
	if got := verdict(t, func(tb testing.TB) { Require(tb, "") }); got != "" {
		t.Errorf("Require with nothing missing: %q, want it to return", got)
	}
	t.Setenv(RequireEnv, "")
	want := ""
	if testing.Short() {
		want = "skip: integration test skipped in -short mode"
	}
	if got := verdict(t, func(tb testing.TB) { Require(tb, "") }); got != want {
		t.Errorf("Require with nothing missing (short %t): %q, want %q", testing.Short(), got, want)
	}
}

func TestMissingPrograms(t *testing.T) {
	if r := MissingPrograms("sh"); r != "" {
		t.Errorf("MissingPrograms(sh) = %q", r)
	}
	r := MissingPrograms("sh", "no-such-program-nmguard", "nor-this-one-nmguard")
	if !strings.Contains(r, "no-such-program-nmguard, nor-this-one-nmguard") || strings.Contains(r, "sh,") {
		t.Errorf("MissingPrograms = %q", r)
	}
	if r := Missing("no-such-program-nmguard"); r == "" {
		t.Error("Missing names nothing for an absent program")
	}
}
