// SPDX-License-Identifier: GPL-3.0-or-later

package detect

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// TraceHeader is the first line of a trace file.
type TraceHeader struct {
	Trace     string `json:"trace"`      // scenario name, e.g. "dhcp-allowlist"
	Source    string `json:"source"`     // "recorded" (real NM on the test bed) or "built" (from NM's documented behaviour)
	NMVersion string `json:"nm_version"` // NetworkManager version recorded against, or documented for
	Notes     string `json:"notes,omitempty"`
}

// Trace is a header and the ordered events of one scenario.
type Trace struct {
	Header TraceHeader
	Events []Event
}

// ReadTrace parses a JSON-lines trace: a header line, then one Event per line.
func ReadTrace(r io.Reader) (Trace, error) {
	var tr Trace
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	line := 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if len(b) == 0 {
			continue
		}
		if line == 1 {
			if err := json.Unmarshal(b, &tr.Header); err != nil {
				return Trace{}, fmt.Errorf("trace line 1 (header): %w", err)
			}
			if tr.Header.Source != "recorded" && tr.Header.Source != "built" {
				return Trace{}, fmt.Errorf("trace line 1: source %q is neither recorded nor built", tr.Header.Source)
			}
			continue
		}
		var ev Event
		if err := json.Unmarshal(b, &ev); err != nil {
			return Trace{}, fmt.Errorf("trace line %d: %w", line, err)
		}
		tr.Events = append(tr.Events, ev)
	}
	if err := sc.Err(); err != nil {
		return Trace{}, fmt.Errorf("read trace: %w", err)
	}
	if line == 0 {
		return Trace{}, errors.New("empty trace")
	}
	return tr, nil
}

// WriteTrace writes tr in the format ReadTrace reads.
func WriteTrace(w io.Writer, tr Trace) error {
	enc := json.NewEncoder(w)
	if err := enc.Encode(tr.Header); err != nil {
		return fmt.Errorf("write trace header: %w", err)
	}
	for i, ev := range tr.Events {
		if err := enc.Encode(ev); err != nil {
			return fmt.Errorf("write trace event %d: %w", i, err)
		}
	}
	return nil
}
