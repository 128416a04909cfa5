// SPDX-License-Identifier: GPL-3.0-or-later

package bed

import (
	"bytes"
	"fmt"
	"os/exec"
	"strings"
)

// run runs a short command and returns its output in the error on failure.
func run(args ...string) error {
	_, err := output(nil, args...)
	return err
}

// output runs a short command and returns its combined output.
func output(stdin []byte, args ...string) (string, error) {
	cmd := exec.Command(args[0], args[1:]...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// runBatch runs `ip -batch -` with the given commands in netns ns ("" = host).
func runBatch(ns, cmds string) error {
	args := []string{"ip"}
	if ns != "" {
		args = append(args, "-n", ns)
	}
	args = append(args, "-batch", "-")
	if _, err := output([]byte(cmds), args...); err != nil {
		return fmt.Errorf("ip batch %q: %w", cmds, err)
	}
	return nil
}
