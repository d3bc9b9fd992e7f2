// Package compat checks that the API's .proto files keep what a release
// before them promised: to REST and gRPC clients, and to nodes of the
// previous release on the wire and on disk.
//
// The surface of the API (every message's fields, every enum's values,
// every service's RPCs and their HTTP routes) is written to a baseline at
// each release (baseline.txt, `make api-baseline`); the check (`go test
// ./api/compat`, in `make test` and `make verify`) compares the current
// descriptors with it and names each break. Additions pass.
package compat

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	// The packages whose descriptors are the API: imported so that
	// their files are registered.
	_ "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	_ "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// Packages are the proto packages the check covers.
var Packages = []protoreflect.FullName{"yizhan.v1", "yizhan.peer.v1"}

// jsonPackage is the package REST clients read and write as JSON (the
// gateway, node/http.go, writes the fields' proto names and reads both
// those and their JSON names): there a field's names and an enum value's
// name are part of the API too. yizhan.peer.v1 travels only as binary,
// between nodes and into their logs.
const jsonPackage = "yizhan.v1"

// API is the surface of a set of proto files: what a client or a node of
// another release depends on.
type API struct {
	Messages map[string]*Message // by full name
	Enums    map[string]*Enum    // by full name
	Services map[string]*Service // by full name
}

// Message is a message's fields and reserved numbers and names.
type Message struct {
	Name          string
	Fields        map[int32]*Field
	Reserved      []Range // field numbers, inclusive
	ReservedNames []string
}

// Field is one field of a message.
type Field struct {
	Number   int32
	Name     string
	JSON     string // the JSON name
	Repeated bool
	Type     string // a scalar's name ("string", "int64"), or the full name of a message, enum or map entry
	Oneof    string // the oneof it belongs to ("" for none, and for proto3 optional)
}

// Enum is an enum's values and reserved numbers and names.
type Enum struct {
	Name          string
	Values        map[int32]string // the first name of each number
	Reserved      []Range          // inclusive
	ReservedNames []string
}

// Service is a service's RPCs.
type Service struct {
	Name    string
	Methods map[string]*Method
}

// Method is one RPC: its messages, whether each side streams, and its
// HTTP routes ("POST /v1/cases body=*"), the main one first.
type Method struct {
	Name         string
	Input        string
	Output       string
	ClientStream bool
	ServerStream bool
	HTTP         []string
}

// Range is an inclusive range of numbers.
type Range struct{ Start, End int32 }

func (r Range) has(n int32) bool { return r.Start <= n && n <= r.End }

func (r Range) String() string {
	if r.Start == r.End {
		return strconv.Itoa(int(r.Start))
	}
	return fmt.Sprintf("%d-%d", r.Start, r.End)
}

// Current is the surface of the API this binary was built with.
func Current() (*API, error) {
	var files []*descriptorpb.FileDescriptorProto
	for _, pkg := range Packages {
		protoregistry.GlobalFiles.RangeFilesByPackage(pkg, func(fd protoreflect.FileDescriptor) bool {
			files = append(files, protodesc.ToFileDescriptorProto(fd))
			return true
		})
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("compat: no file of packages %v registered", Packages)
	}
	return FromFiles(files)
}

// FromFiles is the surface of the messages, enums and services of files.
func FromFiles(files []*descriptorpb.FileDescriptorProto) (*API, error) {
	api := &API{Messages: map[string]*Message{}, Enums: map[string]*Enum{}, Services: map[string]*Service{}}
	for _, f := range files {
		prefix := f.GetPackage()
		for _, m := range f.GetMessageType() {
			api.addMessage(prefix, m)
		}
		for _, e := range f.GetEnumType() {
			api.addEnum(prefix, e)
		}
		for _, s := range f.GetService() {
			svc := &Service{Name: prefix + "." + s.GetName(), Methods: map[string]*Method{}}
			for _, m := range s.GetMethod() {
				method := &Method{Name: m.GetName(), Input: strings.TrimPrefix(m.GetInputType(), "."),
					Output:       strings.TrimPrefix(m.GetOutputType(), "."),
					ClientStream: m.GetClientStreaming(), ServerStream: m.GetServerStreaming()}
				if m.GetOptions() != nil && proto.HasExtension(m.GetOptions(), annotations.E_Http) {
					rule, _ := proto.GetExtension(m.GetOptions(), annotations.E_Http).(*annotations.HttpRule)
					method.HTTP = append(method.HTTP, route(rule))
					for _, b := range rule.GetAdditionalBindings() {
						method.HTTP = append(method.HTTP, route(b))
					}
				}
				svc.Methods[method.Name] = method
			}
			api.Services[svc.Name] = svc
		}
	}
	return api, nil
}

func (api *API) addMessage(prefix string, m *descriptorpb.DescriptorProto) {
	name := prefix + "." + m.GetName()
	msg := &Message{Name: name, Fields: map[int32]*Field{}, ReservedNames: slices.Clone(m.GetReservedName())}
	for _, r := range m.GetReservedRange() {
		msg.Reserved = append(msg.Reserved, Range{r.GetStart(), r.GetEnd() - 1}) // end exclusive
	}
	for _, f := range m.GetField() {
		field := &Field{Number: f.GetNumber(), Name: f.GetName(), JSON: f.GetJsonName(),
			Repeated: f.GetLabel() == descriptorpb.FieldDescriptorProto_LABEL_REPEATED}
		if field.JSON == "" {
			field.JSON = jsonName(f.GetName())
		}
		switch f.GetType() {
		case descriptorpb.FieldDescriptorProto_TYPE_MESSAGE, descriptorpb.FieldDescriptorProto_TYPE_GROUP,
			descriptorpb.FieldDescriptorProto_TYPE_ENUM:
			field.Type = strings.TrimPrefix(f.GetTypeName(), ".")
		default:
			field.Type = strings.ToLower(strings.TrimPrefix(f.GetType().String(), "TYPE_"))
		}
		if f.OneofIndex != nil && !f.GetProto3Optional() {
			field.Oneof = m.GetOneofDecl()[f.GetOneofIndex()].GetName()
		}
		msg.Fields[field.Number] = field
	}
	api.Messages[name] = msg
	for _, n := range m.GetNestedType() {
		api.addMessage(name, n)
	}
	for _, e := range m.GetEnumType() {
		api.addEnum(name, e)
	}
}

func (api *API) addEnum(prefix string, e *descriptorpb.EnumDescriptorProto) {
	en := &Enum{Name: prefix + "." + e.GetName(), Values: map[int32]string{}, ReservedNames: slices.Clone(e.GetReservedName())}
	for _, v := range e.GetValue() {
		if _, alias := en.Values[v.GetNumber()]; !alias {
			en.Values[v.GetNumber()] = v.GetName()
		}
	}
	for _, r := range e.GetReservedRange() {
		en.Reserved = append(en.Reserved, Range{r.GetStart(), r.GetEnd()}) // end inclusive
	}
	api.Enums[en.Name] = en
}

// route is an HTTP rule as "VERB /path body=… response_body=…".
func route(r *annotations.HttpRule) string {
	var verb, path string
	switch p := r.GetPattern().(type) {
	case *annotations.HttpRule_Get:
		verb, path = "GET", p.Get
	case *annotations.HttpRule_Put:
		verb, path = "PUT", p.Put
	case *annotations.HttpRule_Post:
		verb, path = "POST", p.Post
	case *annotations.HttpRule_Delete:
		verb, path = "DELETE", p.Delete
	case *annotations.HttpRule_Patch:
		verb, path = "PATCH", p.Patch
	case *annotations.HttpRule_Custom:
		verb, path = p.Custom.GetKind(), p.Custom.GetPath()
	}
	s := verb + " " + path
	if r.GetBody() != "" {
		s += " body=" + r.GetBody()
	}
	if r.GetResponseBody() != "" {
		s += " response_body=" + r.GetResponseBody()
	}
	return s
}

// Break is one way the current API breaks what the baseline promised.
type Break struct {
	Element string // the message, field, enum value, service or RPC, by full name
	What    string // what broke, in words
}

func (b Break) String() string { return b.Element + ": " + b.What }

// Compare lists how now breaks what was promised in base, in the order
// of the elements' names. Additions are no break.
func Compare(base, now *API) []Break {
	var out []Break
	add := func(element, format string, args ...any) {
		out = append(out, Break{element, fmt.Sprintf(format, args...)})
	}
	for _, name := range sortedKeys(base.Messages) {
		was, is := base.Messages[name], now.Messages[name]
		if is == nil {
			add(name, "message removed (or renamed): fields of this type, and google.protobuf.Any values naming it, no longer decode")
			continue
		}
		json := inPackage(name, jsonPackage)
		for _, n := range sortedKeys(was.Fields) {
			wf, f := was.Fields[n], is.Fields[n]
			element := fmt.Sprintf("%s.%s (field %d)", name, wf.Name, n)
			if f == nil {
				switch {
				case fieldNumber(is, wf.Name) > 0:
					add(element, "renumbered to %d: a node or client of an earlier release writes and reads it as %d", fieldNumber(is, wf.Name), n)
				case !reserved(is.Reserved, n):
					add(element, "field removed without reserving its number (reserved %d;)", n)
				case json && !slices.Contains(is.ReservedNames, wf.Name):
					add(element, "field removed without reserving its name, which REST clients send (reserved %q;)", wf.Name)
				}
				continue
			}
			if f.Type != wf.Type {
				add(element, "type changed from %s to %s", wf.Type, f.Type)
			}
			if f.Repeated != wf.Repeated {
				add(element, "changed from %s to %s", cardinality(wf.Repeated), cardinality(f.Repeated))
			}
			if f.Oneof != wf.Oneof {
				add(element, "moved from %s to %s: setting it now clears other fields", oneofName(wf.Oneof), oneofName(f.Oneof))
			}
			if json && f.Name != wf.Name {
				add(element, "renamed to %s: REST clients read and write it by its name", f.Name)
			}
			if json && f.JSON != wf.JSON {
				add(element, "JSON name changed from %s to %s", wf.JSON, f.JSON)
			}
		}
		for _, r := range was.Reserved {
			for _, n := range sortedKeys(is.Fields) {
				if r.has(n) {
					add(fmt.Sprintf("%s.%s (field %d)", name, is.Fields[n].Name, n), "uses number %d, reserved in the baseline: a node of an earlier release reads it as the field it removed", n)
				}
			}
			if !covered(is.Reserved, r) {
				add(name, "reservation of field numbers %s removed or narrowed", r)
			}
		}
		for _, rn := range was.ReservedNames {
			if !slices.Contains(is.ReservedNames, rn) {
				add(name, "reservation of field name %q removed", rn)
			}
		}
	}
	for _, name := range sortedKeys(base.Enums) {
		was, is := base.Enums[name], now.Enums[name]
		if is == nil {
			add(name, "enum removed (or renamed)")
			continue
		}
		json := inPackage(name, jsonPackage)
		for _, n := range sortedKeys(was.Values) {
			wv, v := was.Values[n], is.Values[n]
			element := fmt.Sprintf("%s.%s (value %d)", name, wv, n)
			switch {
			case v == "" && valueNumber(is, wv) >= 0:
				add(element, "renumbered to %d: a node or client of an earlier release writes and reads it as %d", valueNumber(is, wv), n)
			case v == "" && !reserved(is.Reserved, n):
				add(element, "value removed without reserving its number (reserved %d;)", n)
			case v == "" && json && !slices.Contains(is.ReservedNames, wv):
				add(element, "value removed without reserving its name, which REST clients send (reserved %q;)", wv)
			case v != "" && v != wv && json:
				add(element, "renamed to %s: REST clients read and write it by its name", v)
			}
		}
		for _, r := range was.Reserved {
			for _, n := range sortedKeys(is.Values) {
				if r.has(n) {
					add(fmt.Sprintf("%s.%s (value %d)", name, is.Values[n], n), "uses number %d, reserved in the baseline", n)
				}
			}
			if !covered(is.Reserved, r) {
				add(name, "reservation of value numbers %s removed or narrowed", r)
			}
		}
	}
	for _, name := range sortedKeys(base.Services) {
		was, is := base.Services[name], now.Services[name]
		if is == nil {
			add(name, "service removed (or renamed)")
			continue
		}
		for _, mn := range sortedKeys(was.Methods) {
			wm, m := was.Methods[mn], is.Methods[mn]
			element := name + "." + mn
			if m == nil {
				add(element, "RPC removed (or renamed)")
				continue
			}
			if m.Input != wm.Input {
				add(element, "request changed from %s to %s", wm.Input, m.Input)
			}
			if m.Output != wm.Output {
				add(element, "response changed from %s to %s", wm.Output, m.Output)
			}
			if m.ClientStream != wm.ClientStream || m.ServerStream != wm.ServerStream {
				add(element, "streaming changed from %s to %s", streaming(wm), streaming(m))
			}
			for _, r := range wm.HTTP {
				if !slices.Contains(m.HTTP, r) {
					add(element, "HTTP route %q removed or changed (now %s)", r, routes(m.HTTP))
				}
			}
		}
	}
	return out
}

// covered reports whether ranges hold every number of r.
func covered(ranges []Range, r Range) bool {
	next := int64(r.Start) // the first number of r not yet found held
	for {
		if next > int64(r.End) {
			return true
		}
		i := slices.IndexFunc(ranges, func(x Range) bool { return x.has(int32(next)) })
		if i < 0 {
			return false
		}
		next = int64(ranges[i].End) + 1
	}
}

func reserved(ranges []Range, n int32) bool {
	return slices.ContainsFunc(ranges, func(r Range) bool { return r.has(n) })
}

// jsonName is protoc's JSON name of a field named name: its words
// joined in lower camel case.
func jsonName(name string) string {
	var b strings.Builder
	upper := false
	for _, r := range name {
		switch {
		case r == '_':
			upper = true
		case upper && 'a' <= r && r <= 'z':
			b.WriteRune(r - 'a' + 'A')
			upper = false
		default:
			b.WriteRune(r)
			upper = false
		}
	}
	return b.String()
}

func fieldNumber(m *Message, name string) int32 {
	for n, f := range m.Fields {
		if f.Name == name {
			return n
		}
	}
	return 0
}

func valueNumber(e *Enum, name string) int32 {
	for n, v := range e.Values {
		if v == name {
			return n
		}
	}
	return -1
}

func inPackage(name, pkg string) bool { return strings.HasPrefix(name, pkg+".") }

func cardinality(repeated bool) string {
	if repeated {
		return "repeated"
	}
	return "singular"
}

func oneofName(o string) string {
	if o == "" {
		return "no oneof"
	}
	return "oneof " + o
}

func streaming(m *Method) string {
	switch {
	case m.ClientStream && m.ServerStream:
		return "both streams"
	case m.ClientStream:
		return "a client stream"
	case m.ServerStream:
		return "a server stream"
	}
	return "unary"
}

func routes(rs []string) string {
	if len(rs) == 0 {
		return "none"
	}
	return strconv.Quote(strings.Join(rs, `", "`))
}

func sortedKeys[K int32 | string, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// The baseline's text: a line for each message, enum and service, an
// indented line under it for each field, value, reservation, RPC and
// route, everything in the order of names and numbers, so that a diff
// of two baselines reads as what changed:
//
//	message yizhan.v1.Case
//	  field 1 number json=number type=string
//	  field 4 events json=events type=yizhan.v1.CaseEvent repeated
//	  reserved 7-9
//	  reserved_name old_status
//	enum yizhan.v1.EventType
//	  value 1 EVENT_TYPE_FILED
//	service yizhan.v1.CaseService
//	  rpc FileCase in=yizhan.v1.FileCaseRequest out=yizhan.v1.Case
//	  http FileCase POST /v1/cases body=*

// Write writes api's baseline text to w.
func (api *API) Write(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "# The API's surface at the last release: written by `make api-baseline`, checked by `go test ./api/compat`.")
	for _, name := range sortedKeys(api.Messages) {
		m := api.Messages[name]
		fmt.Fprintf(bw, "message %s\n", name)
		for _, n := range sortedKeys(m.Fields) {
			f := m.Fields[n]
			fmt.Fprintf(bw, "  field %d %s json=%s type=%s", n, f.Name, f.JSON, f.Type)
			if f.Repeated {
				fmt.Fprint(bw, " repeated")
			}
			if f.Oneof != "" {
				fmt.Fprintf(bw, " oneof=%s", f.Oneof)
			}
			fmt.Fprintln(bw)
		}
		writeReserved(bw, m.Reserved, m.ReservedNames)
	}
	for _, name := range sortedKeys(api.Enums) {
		e := api.Enums[name]
		fmt.Fprintf(bw, "enum %s\n", name)
		for _, n := range sortedKeys(e.Values) {
			fmt.Fprintf(bw, "  value %d %s\n", n, e.Values[n])
		}
		writeReserved(bw, e.Reserved, e.ReservedNames)
	}
	for _, name := range sortedKeys(api.Services) {
		s := api.Services[name]
		fmt.Fprintf(bw, "service %s\n", name)
		for _, mn := range sortedKeys(s.Methods) {
			m := s.Methods[mn]
			fmt.Fprintf(bw, "  rpc %s in=%s out=%s", mn, m.Input, m.Output)
			if m.ClientStream {
				fmt.Fprint(bw, " client_stream")
			}
			if m.ServerStream {
				fmt.Fprint(bw, " server_stream")
			}
			fmt.Fprintln(bw)
			for _, r := range m.HTTP {
				fmt.Fprintf(bw, "  http %s %s\n", mn, r)
			}
		}
	}
	return bw.Flush()
}

func writeReserved(w io.Writer, ranges []Range, names []string) {
	rs := slices.Clone(ranges)
	slices.SortFunc(rs, func(a, b Range) int { return int(a.Start) - int(b.Start) })
	for _, r := range rs {
		fmt.Fprintf(w, "  reserved %s\n", r)
	}
	for _, n := range slices.Sorted(slices.Values(names)) {
		fmt.Fprintf(w, "  reserved_name %s\n", n)
	}
}

// Read reads a baseline's text (Write).
func Read(r io.Reader) (*API, error) {
	api := &API{Messages: map[string]*Message{}, Enums: map[string]*Enum{}, Services: map[string]*Service{}}
	var (
		msg  *Message
		enum *Enum
		svc  *Service
	)
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		w := strings.Fields(text)
		if len(w) == 0 || strings.HasPrefix(w[0], "#") {
			continue
		}
		bad := func(why string) error { return fmt.Errorf("compat: baseline line %d %q: %s", line, text, why) }
		indented := strings.HasPrefix(text, " ")
		if !indented {
			if len(w) != 2 {
				return nil, bad("want a kind and a name")
			}
			msg, enum, svc = nil, nil, nil
			switch w[0] {
			case "message":
				msg = &Message{Name: w[1], Fields: map[int32]*Field{}}
				api.Messages[w[1]] = msg
			case "enum":
				enum = &Enum{Name: w[1], Values: map[int32]string{}}
				api.Enums[w[1]] = enum
			case "service":
				svc = &Service{Name: w[1], Methods: map[string]*Method{}}
				api.Services[w[1]] = svc
			default:
				return nil, bad("unknown kind")
			}
			continue
		}
		switch {
		case w[0] == "field" && msg != nil && len(w) >= 5:
			n, err := strconv.ParseInt(w[1], 10, 32)
			if err != nil {
				return nil, bad("bad field number")
			}
			f := &Field{Number: int32(n), Name: w[2]}
			for _, kv := range w[3:] {
				k, v, _ := strings.Cut(kv, "=")
				switch k {
				case "json":
					f.JSON = v
				case "type":
					f.Type = v
				case "repeated":
					f.Repeated = true
				case "oneof":
					f.Oneof = v
				default:
					return nil, bad("unknown attribute " + k)
				}
			}
			msg.Fields[f.Number] = f
		case w[0] == "value" && enum != nil && len(w) == 3:
			n, err := strconv.ParseInt(w[1], 10, 32)
			if err != nil {
				return nil, bad("bad value number")
			}
			enum.Values[int32(n)] = w[2]
		case w[0] == "reserved" && len(w) == 2 && (msg != nil || enum != nil):
			a, b, ok := strings.Cut(w[1], "-")
			if !ok {
				b = a
			}
			start, err1 := strconv.ParseInt(a, 10, 32)
			end, err2 := strconv.ParseInt(b, 10, 32)
			if err1 != nil || err2 != nil {
				return nil, bad("bad range")
			}
			if msg != nil {
				msg.Reserved = append(msg.Reserved, Range{int32(start), int32(end)})
			} else {
				enum.Reserved = append(enum.Reserved, Range{int32(start), int32(end)})
			}
		case w[0] == "reserved_name" && len(w) == 2 && (msg != nil || enum != nil):
			if msg != nil {
				msg.ReservedNames = append(msg.ReservedNames, w[1])
			} else {
				enum.ReservedNames = append(enum.ReservedNames, w[1])
			}
		case w[0] == "rpc" && svc != nil && len(w) >= 4:
			m := &Method{Name: w[1]}
			for _, kv := range w[2:] {
				k, v, _ := strings.Cut(kv, "=")
				switch k {
				case "in":
					m.Input = v
				case "out":
					m.Output = v
				case "client_stream":
					m.ClientStream = true
				case "server_stream":
					m.ServerStream = true
				default:
					return nil, bad("unknown attribute " + k)
				}
			}
			svc.Methods[m.Name] = m
		case w[0] == "http" && svc != nil && len(w) >= 4:
			m := svc.Methods[w[1]]
			if m == nil {
				return nil, bad("a route of an RPC not listed before it")
			}
			m.HTTP = append(m.HTTP, strings.Join(w[2:], " "))
		default:
			return nil, bad("not a line of a baseline here")
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("compat: read baseline: %w", err)
	}
	return api, nil
}
