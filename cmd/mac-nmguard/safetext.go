// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"fmt"
	"reflect"
	"strings"
	"unicode"
	"unicode/utf8"
)

// safeText makes a string from outside (interface names, profile names,
// SSIDs) safe for a terminal: control characters, invalid UTF-8 and
// bidirectional overrides are shown as escapes, never sent raw.
func safeText(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// sanitized returns a copy of v (a report value) with safeText applied to
// every string in it, however deep.
func sanitized[T any](v T) T {
	rv := reflect.ValueOf(&v).Elem()
	sanitizeValue(rv)
	return v
}

func sanitizeValue(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		if v.CanSet() {
			v.SetString(safeText(v.String()))
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				sanitizeValue(v.Field(i))
			}
		}
	case reflect.Slice:
		if v.IsNil() {
			return
		}
		c := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		reflect.Copy(c, v)
		for i := range c.Len() {
			sanitizeValue(c.Index(i))
		}
		if v.CanSet() {
			v.Set(c)
		}
	case reflect.Pointer:
		if v.IsNil() {
			return
		}
		c := reflect.New(v.Elem().Type())
		c.Elem().Set(v.Elem())
		sanitizeValue(c.Elem())
		if v.CanSet() {
			v.Set(c)
		}
	case reflect.Map:
		if v.IsNil() || !v.CanSet() {
			return
		}
		c := reflect.MakeMapWithSize(v.Type(), v.Len())
		for _, k := range v.MapKeys() {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(v.MapIndex(k))
			sanitizeValue(e)
			nk := k
			if k.Kind() == reflect.String {
				nk = reflect.ValueOf(safeText(k.String())).Convert(k.Type())
			}
			c.SetMapIndex(nk, e)
		}
		v.Set(c)
	}
}
