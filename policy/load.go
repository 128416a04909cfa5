// SPDX-License-Identifier: GPL-3.0-or-later

package policy

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// maxFileSize bounds what Load reads from one policy or vendor file.
const maxFileSize = 1 << 20

// Load builds the effective policy: Default(), then mainFile, then every
// dropinDir/*.toml in name order (names starting with '.' are skipped).
// Later files override the scalar settings they set; rules accumulate. A
// missing main file or directory is not an error (both missing: the
// built-in default); an unreadable or invalid file is, and names
// file:line:column. A vendors_file named by the files is read last,
// relative to the file that names it.
func Load(mainFile, dropinDir string) (*Policy, error) {
	files, err := ConfigFiles(mainFile, dropinDir)
	if err != nil {
		return nil, err
	}
	return LoadFiles(files...)
}

// ConfigFiles lists the files Load would read, in order.
func ConfigFiles(mainFile, dropinDir string) ([]string, error) {
	var files []string
	if mainFile != "" {
		fi, err := os.Stat(mainFile)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return nil, fmt.Errorf("policy file %s: %w", mainFile, err)
		case fi.IsDir():
			return nil, fmt.Errorf("policy file %s is a directory", mainFile)
		default:
			files = append(files, mainFile)
		}
	}
	if dropinDir != "" {
		entries, err := os.ReadDir(dropinDir)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return nil, fmt.Errorf("policy drop-in directory %s: %w", dropinDir, err)
		}
		// os.ReadDir returns entries sorted by name: that is the order.
		for _, e := range entries {
			name := e.Name()
			if strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".toml") {
				continue
			}
			files = append(files, filepath.Join(dropinDir, name))
		}
	}
	return files, nil
}

// LoadFiles applies files in order on top of Default(); each must exist
// and be valid. Then it reads the vendors_file, if any was set.
func LoadFiles(files ...string) (*Policy, error) {
	p := Default()
	vendorsFrom := ""
	for _, f := range files {
		data, err := readLimited(f)
		if err != nil {
			return nil, fmt.Errorf("read policy file %s: %w", f, err)
		}
		before := p.VendorsFile
		if err := p.apply(f, data); err != nil {
			return nil, err
		}
		if p.VendorsFile != before {
			vendorsFrom = f
		}
	}
	if p.VendorsFile != "" {
		data, err := readLimited(p.VendorsFile)
		if err != nil {
			return nil, fmt.Errorf("read vendors_file %s (named in %s): %w", p.VendorsFile, vendorsFrom, err)
		}
		l, err := ParseVendors(p.VendorsFile, data)
		if err != nil {
			return nil, fmt.Errorf("vendors_file named in %s: %w", vendorsFrom, err)
		}
		p.Vendors = l
	}
	return p, nil
}

func readLimited(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("larger than %d bytes", maxFileSize)
	}
	return data, nil
}
