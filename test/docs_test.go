// SPDX-License-Identifier: GPL-3.0-or-later

package test

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEveryPackageHasDocComment fails when a package of this module has no
// package doc comment in any of its non-test files.
func TestEveryPackageHasDocComment(t *testing.T) {
	root := filepath.Join("..")
	dirs := map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
			dirs[filepath.Dir(path)] = true
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk module: %v", err)
	}
	if len(dirs) < 5 {
		t.Fatalf("found only %d package directories; the walk is wrong", len(dirs))
	}
	for dir := range dirs {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		documented, name := false, ""
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ParseComments|parser.PackageClauseOnly)
			if err != nil {
				t.Errorf("%s: %v", f, err)
				continue
			}
			name = af.Name.Name
			if af.Doc != nil && strings.TrimSpace(af.Doc.Text()) != "" {
				documented = true
			}
		}
		if !documented {
			t.Errorf("package %s in %s has no package doc comment", name, dir)
		}
	}
}

// TestEverySourceHasLicenceLine fails when a Go file, shell script or
// Makefile of this module lacks the SPDX line of the project's licence
// (GPL-3.0-or-later, LICENSE) in its first three lines.
func TestEverySourceHasLicenceLine(t *testing.T) {
	root := filepath.Join("..")
	const spdx = "SPDX-License-Identifier: GPL-3.0-or-later"
	n := 0
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") && name != ".ci" || name == "testdata" || name == "vendor" || name == "bin" || name == "artifacts") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, ".sh") && name != "Makefile" && name != "rules" && path != filepath.Join(root, ".ci", "run") {
			return nil
		}
		n++
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		head := strings.SplitN(string(data), "\n", 4)
		if !strings.Contains(strings.Join(head[:min(3, len(head))], "\n"), spdx) {
			t.Errorf("%s: no %q in its first three lines", path, spdx)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk module: %v", err)
	}
	if n < 50 {
		t.Fatalf("found only %d source files; the walk is wrong", n)
	}
}
