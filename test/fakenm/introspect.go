// SPDX-License-Identifier: GPL-3.0-or-later

package fakenm

import (
	"encoding/xml"
	"sort"
	"strings"
	"sync"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/introspect"
	"github.com/godbus/dbus/v5/prop"
)

const introspectableIface = "org.freedesktop.DBus.Introspectable"

// ifaceDecl is one interface of an exported object, as introspection shows it.
type ifaceDecl = introspect.Interface

// introspection holds the interfaces of every exported object, to answer
// Introspect with them and with the object's children.
type introspection struct {
	mu      sync.Mutex
	objects map[dbus.ObjectPath][]ifaceDecl
}

// introspectable answers org.freedesktop.DBus.Introspectable.Introspect on
// one path.
type introspectable struct {
	in   *introspection
	path dbus.ObjectPath
}

// Introspect returns the XML description of the path: its interfaces and
// its child nodes.
func (o introspectable) Introspect() (string, *dbus.Error) {
	o.in.mu.Lock()
	defer o.in.mu.Unlock()
	node := introspect.Node{Name: string(o.path)}
	if decls, ok := o.in.objects[o.path]; ok {
		node.Interfaces = append([]introspect.Interface{introspect.IntrospectData, prop.IntrospectData}, decls...)
	} else {
		node.Interfaces = []introspect.Interface{introspect.IntrospectData}
	}
	prefix := string(o.path) + "/"
	if o.path == "/" {
		prefix = "/"
	}
	seen := map[string]bool{}
	for p := range o.in.objects {
		rest, ok := strings.CutPrefix(string(p), prefix)
		if !ok || rest == "" {
			continue
		}
		child, _, _ := strings.Cut(rest, "/")
		seen[child] = true
	}
	kids := make([]string, 0, len(seen))
	for k := range seen {
		kids = append(kids, k)
	}
	sort.Strings(kids)
	for _, k := range kids {
		node.Children = append(node.Children, introspect.Node{Name: k})
	}
	b, err := xml.MarshalIndent(node, "", "  ")
	if err != nil {
		return "", dbus.MakeFailedError(err)
	}
	return introspect.IntrospectDeclarationString + string(b), nil
}

// register records an object's interfaces and exports Introspectable on it
// and on every ancestor path (so the tree can be walked from "/").
func (n *NM) register(path dbus.ObjectPath, decls ...ifaceDecl) error {
	n.intro.mu.Lock()
	n.intro.objects[path] = decls
	n.intro.mu.Unlock()
	p := string(path)
	for {
		if err := n.conn.Export(introspectable{in: &n.intro, path: dbus.ObjectPath(p)}, dbus.ObjectPath(p), introspectableIface); err != nil {
			return err
		}
		if p == "/" {
			return nil
		}
		i := strings.LastIndex(p, "/")
		if i == 0 {
			p = "/"
		} else {
			p = p[:i]
		}
	}
}

// unregister forgets an object and unexports its interfaces.
func (n *NM) unregister(path dbus.ObjectPath, ifaces ...string) {
	n.intro.mu.Lock()
	delete(n.intro.objects, path)
	n.intro.mu.Unlock()
	for _, iface := range append(ifaces, PropertiesIface, introspectableIface) {
		_ = n.conn.Export(nil, path, iface) // unexporting cannot fail for a valid path
	}
}

// Declaration helpers.

func method(name string, args ...introspect.Arg) introspect.Method {
	return introspect.Method{Name: name, Args: args}
}

func signal(name string, args ...introspect.Arg) introspect.Signal {
	return introspect.Signal{Name: name, Args: args}
}

func in(name, sig string) introspect.Arg {
	return introspect.Arg{Name: name, Type: sig, Direction: "in"}
}
func out(name, sig string) introspect.Arg {
	return introspect.Arg{Name: name, Type: sig, Direction: "out"}
}
func arg(name, sig string) introspect.Arg { return introspect.Arg{Name: name, Type: sig} }

// propDecls describes the properties of a prop.Map interface; writable ones
// are "readwrite". Every property the fake exports emits PropertiesChanged
// (the fake sends them itself, see NM.update), as NM's do.
func propDecls(m map[string]*prop.Prop) []introspect.Property {
	out := make([]introspect.Property, 0, len(m))
	for name, p := range m {
		access := "read"
		if p.Writable {
			access = "readwrite"
		}
		out = append(out, introspect.Property{Name: name, Type: dbus.SignatureOf(p.Value).String(), Access: access})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// ro is a read-only property whose changes the fake announces itself.
func ro(v any) *prop.Prop { return &prop.Prop{Value: v, Emit: prop.EmitFalse} }

type (
	introspectMethod = introspect.Method
	introspectSignal = introspect.Signal
)
