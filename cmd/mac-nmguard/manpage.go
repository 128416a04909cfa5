// SPDX-License-Identifier: GPL-3.0-or-later

package main

// Man pages written from the cobra command tree, in the man(7) macros,
// without cobra/doc: cobra/doc converts through Markdown (go-md2man,
// blackfriday, yaml), whose package initialisation alone cost every start
// of this binary, the service's included, about 1 ms and 200 kB of heap.

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// manHeader is what the .TH line of every page says.
type manHeader struct {
	Section string // "1"
	Date    time.Time
	Source  string // "mac-nmguard VERSION"
	Manual  string // "mac-nmguard manual"
}

// manDate is SOURCE_DATE_EPOCH (reproducible builds) when set and valid,
// else now.
func manDate() (time.Time, error) {
	v, ok := os.LookupEnv("SOURCE_DATE_EPOCH")
	if !ok || v == "" {
		return time.Now().UTC(), nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q is not a number of seconds: %w", v, err)
	}
	return time.Unix(n, 0).UTC(), nil
}

// manPageName is the file name of c's page: the command path with dashes.
func manPageName(c *cobra.Command, section string) string {
	return strings.ReplaceAll(c.CommandPath(), " ", "-") + "." + section
}

// manSectionOf is the section of c's page: 8 for what only the system runs
// (the service), 1 for the rest.
func manSectionOf(c *cobra.Command) string {
	if s := c.Annotations[manSectionAnnotation]; s != "" {
		return s
	}
	if c.CommandPath() == "mac-nmguard run" {
		return "8"
	}
	return "1"
}

// manSectionAnnotation, in a command's Annotations, names its page's
// section.
const manSectionAnnotation = "man-section"

// manChildren are the commands below c that get a page: the available
// ones (not hidden, not deprecated), not help topics.
func manChildren(c *cobra.Command) []*cobra.Command {
	var out []*cobra.Command
	for _, sub := range c.Commands() {
		if sub.IsAvailableCommand() && !sub.IsAdditionalHelpTopicCommand() {
			out = append(out, sub)
		}
	}
	return out
}

// writeManTree writes the page of c and of every command below it that
// gets one into dir, each file written whole or not at all.
func writeManTree(c *cobra.Command, h manHeader, dir string) error {
	for _, sub := range manChildren(c) {
		if err := writeManTree(sub, h, dir); err != nil {
			return err
		}
	}
	h.Section = manSectionOf(c)
	return writeManFile(dir, manPageName(c, h.Section), func(w io.Writer) { writeManPage(w, c, h) })
}

// writeManFile writes dir/name whole or not at all.
func writeManFile(dir, base string, write func(io.Writer)) error {
	name := filepath.Join(dir, base)
	tmp, err := os.CreateTemp(dir, ".tmp-"+base+"-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	defer os.Remove(tmp.Name()) // after the rename: nothing to remove
	w := bufio.NewWriter(tmp)
	write(w)
	if err := w.Flush(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

// writeManPage writes c's page: NAME, SYNOPSIS, DESCRIPTION, OPTIONS (its
// own, then inherited), EXAMPLES and SEE ALSO.
func writeManPage(w io.Writer, c *cobra.Command, h manHeader) {
	title := strings.ToUpper(strings.TrimSuffix(manPageName(c, h.Section), "."+h.Section))
	fmt.Fprintf(w, ".TH %s %s %s %s %s\n.nh\n",
		manQuote(title), manQuote(h.Section), manQuote(h.Date.Format("Jan 2006")), manQuote(h.Source), manQuote(h.Manual))
	fmt.Fprintf(w, ".SH NAME\n%s \\- %s\n", manEscape(strings.ReplaceAll(c.CommandPath(), " ", "-")), manEscape(c.Short))
	fmt.Fprintf(w, ".SH SYNOPSIS\n.B %s\n", manEscape(c.CommandPath()))
	if rest := strings.TrimSpace(strings.TrimPrefix(c.UseLine(), c.CommandPath())); rest != "" {
		fmt.Fprintf(w, "%s\n", manEscape(rest))
	}
	desc := c.Long
	if desc == "" {
		desc = c.Short
	}
	fmt.Fprintf(w, ".SH DESCRIPTION\n")
	writeManText(w, desc)
	if flags := manFlags(c.NonInheritedFlags()); len(flags) > 0 {
		fmt.Fprintf(w, ".SH OPTIONS\n")
		writeManFlags(w, flags)
	}
	if flags := manFlags(c.InheritedFlags()); len(flags) > 0 {
		fmt.Fprintf(w, ".SH OPTIONS INHERITED FROM PARENT COMMANDS\n")
		writeManFlags(w, flags)
	}
	for _, sec := range manExtraSections(c) {
		fmt.Fprintf(w, ".SH %s\n", sec.title)
		writeManTagged(w, sec.text)
	}
	if c.Example != "" {
		fmt.Fprintf(w, ".SH EXAMPLES\n.PP\n.nf\n.RS\n")
		for _, line := range strings.Split(strings.TrimRight(c.Example, "\n"), "\n") {
			fmt.Fprintf(w, "%s\n", manLine(line))
		}
		fmt.Fprintf(w, ".RE\n.fi\n")
	}
	var see []string
	if c.HasParent() {
		see = append(see, manRef(c.Parent()))
	}
	for _, sub := range manChildren(c) {
		see = append(see, manRef(sub))
	}
	if !c.HasParent() {
		see = append(see, `\fB`+manEscape(policyManName)+`\fR(5)`)
	}
	if len(see) > 0 {
		fmt.Fprintf(w, ".SH SEE ALSO\n%s\n", strings.Join(see, ",\n"))
	}
}

// manRef is a reference to c's page: \fBname\fR(1).
func manRef(c *cobra.Command) string {
	return `\fB` + manEscape(strings.ReplaceAll(c.CommandPath(), " ", "-")) + `\fR(` + manSectionOf(c) + `)`
}

// writeManText writes prose: paragraphs separated by blank lines; lines
// indented by a space or tab kept as they are (no filling).
func writeManText(w io.Writer, text string) {
	text = strings.Trim(text, "\n")
	fmt.Fprintf(w, ".PP\n")
	literal := false
	for _, line := range strings.Split(text, "\n") {
		indented := strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t")
		switch {
		case strings.TrimSpace(line) == "":
			if literal {
				fmt.Fprintf(w, ".fi\n")
				literal = false
			}
			fmt.Fprintf(w, ".PP\n")
			continue
		case indented && !literal:
			fmt.Fprintf(w, ".nf\n")
			literal = true
		case !indented && literal:
			fmt.Fprintf(w, ".fi\n")
			literal = false
		}
		fmt.Fprintf(w, "%s\n", manLine(line))
	}
	if literal {
		fmt.Fprintf(w, ".fi\n")
	}
}

// writeManTagged writes entries separated by blank lines as tagged
// paragraphs: an entry's first line in bold, the rest its text.
func writeManTagged(w io.Writer, text string) {
	for _, entry := range strings.Split(strings.Trim(text, "\n"), "\n\n") {
		tag, body, _ := strings.Cut(entry, "\n")
		fmt.Fprintf(w, ".TP\n\\fB%s\\fR\n", manEscape(tag))
		for _, line := range strings.Split(body, "\n") {
			fmt.Fprintf(w, "%s\n", manLine(line))
		}
	}
}

// manFlags are the visible flags of fs, sorted by name.
func manFlags(fs *pflag.FlagSet) []*pflag.Flag {
	var out []*pflag.Flag
	fs.VisitAll(func(f *pflag.Flag) {
		if !f.Hidden && f.Deprecated == "" {
			out = append(out, f)
		}
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// writeManFlags writes one tagged paragraph per flag: "-s, --name VALUE"
// then the usage and the default.
func writeManFlags(w io.Writer, flags []*pflag.Flag) {
	for _, f := range flags {
		tag := `\fB\-\-` + manEscape(f.Name) + `\fR`
		if f.Shorthand != "" && f.ShorthandDeprecated == "" {
			tag = `\fB\-` + manEscape(f.Shorthand) + `\fR, ` + tag
		}
		varname, usage := pflag.UnquoteUsage(f)
		if varname != "" {
			if f.NoOptDefVal != "" {
				tag += `[=\fI` + manEscape(varname) + `\fR]`
			} else {
				tag += ` \fI` + manEscape(varname) + `\fR`
			}
		}
		if def := manDefault(f); def != "" {
			usage += " (default " + def + ")"
		}
		fmt.Fprintf(w, ".TP\n%s\n%s\n", tag, manLine(usage))
	}
}

// manDefault is a flag's default as the help shows it, "" when it is the
// type's zero value.
func manDefault(f *pflag.Flag) string {
	switch f.DefValue {
	case "", "false", "0", "[]", "<nil>":
		return ""
	}
	if f.Value.Type() == "string" {
		return strconv.Quote(f.DefValue)
	}
	if t := f.Value.Type(); strings.HasSuffix(t, "Array") || strings.HasSuffix(t, "Slice") {
		// A list, as the help shows it, with room to break a line.
		return strings.ReplaceAll(f.DefValue, ",", ", ")
	}
	return f.DefValue
}

// manLine is one line of text as roff reads it: escaped, and not taken for
// a request when it starts with a dot or an apostrophe.
func manLine(s string) string {
	s = manEscape(s)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}

// manEscape escapes roff's escape character and dashes (so they stay
// ASCII hyphen-minus, which options need to be copied from the page).
func manEscape(s string) string {
	return strings.NewReplacer(`\`, `\e`, "-", `\-`).Replace(s)
}

// manQuote is a quoted macro argument for .TH: backslashes escaped, a
// double quote doubled (as groff reads it), dashes left plain (a title).
func manQuote(s string) string {
	return `"` + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\e`), `"`, `""`) + `"`
}
