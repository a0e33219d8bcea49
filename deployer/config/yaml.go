package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// EnvPrefix is the prefix of the environment variables that set configuration keys.
const EnvPrefix = "ZDD"

// EnvVar returns the environment variable that sets key: "tomcat.password" is set by
// ZDD_TOMCAT_PASSWORD. Nested keys are joined with '_'.
func EnvVar(key string) string {
	return EnvPrefix + "_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// Keys returns every settable key in schema order: one per scalar, and one per list or map
// ("nodes", "lb.hosts", "database.haproxy.servers"), whose value is a whole YAML document.
func Keys() []string {
	var keys []string
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			key := prefix + yamlName(f)
			if f.Type.Kind() == reflect.Struct && f.Type != durationType {
				walk(f.Type, key+".")
				continue
			}
			keys = append(keys, key)
		}
	}
	walk(reflect.TypeOf(Config{}), "")
	return keys
}

// IsKey reports whether key is one of Keys.
func IsKey(key string) bool {
	for _, k := range Keys() {
		if k == key {
			return true
		}
	}
	return false
}

// SuggestKey returns the key of Keys closest to key, or "" when none is close.
func SuggestKey(key string) string { return Closest(key, Keys()) }

var durationType = reflect.TypeOf(time.Duration(0))

func yamlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	return name
}

// FileError is an error at one place of a configuration file.
type FileError struct {
	// File is the file's name as given to ParseYAML.
	File string
	// Line is the 1-based line number, or 0 when unknown.
	Line int
	// Column is the 1-based column, or 0 when unknown (the YAML parser does not give one for
	// syntax errors).
	Column int
	// Message says what is wrong.
	Message string
}

// Error returns "file:line:column: message", "file:line: message" without a column, and
// "file: message" without a line.
func (e *FileError) Error() string {
	switch {
	case e.Line == 0:
		return e.File + ": " + e.Message
	case e.Column == 0:
		return e.File + ":" + strconv.Itoa(e.Line) + ": " + e.Message
	}
	return e.File + ":" + strconv.Itoa(e.Line) + ":" + strconv.Itoa(e.Column) + ": " + e.Message
}

// ParseYAML decodes a zdd.yaml strictly over Default: every unknown key is an error naming the
// key and its line and column, as are syntax and type errors (syntax errors with the line only)
// and a second YAML document. file names the data in errors. The result has FillDefaults
// applied and is not validated. The error joins one *FileError per problem.
func ParseYAML(data []byte, file string) (*Config, error) {
	cfg := Default()
	doc, err := parseDocument(data, file)
	if err != nil {
		return nil, err
	}
	if len(doc.Content) == 0 { // empty file
		cfg.FillDefaults()
		return &cfg, nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, &FileError{File: file, Line: root.Line, Column: root.Column, Message: "the top level must be a mapping of keys (app:, tomcat:, nodes:, ...)"}
	}
	var errs []error
	checkKeys(root, reflect.TypeOf(cfg), "", file, &errs)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if err := root.Decode(&cfg); err != nil {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, lineError(file, err.Error())
		}
		for _, msg := range te.Errors {
			fe := lineError(file, msg)
			fe.Column = typeErrorColumn(root, fe)
			errs = append(errs, fe)
		}
		return nil, errors.Join(errs...)
	}
	cfg.FillDefaults()
	return &cfg, nil
}

// parseDocument parses data as one YAML document (an empty one when data is empty).
func parseDocument(data []byte, file string) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, syntaxError(data, file, err)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
		return &doc, nil
	case err != nil:
		return nil, syntaxError(data, file, err)
	}
	fe := &FileError{File: file, Message: "a second YAML document (after ---) is not allowed: zdd.yaml is one document"}
	if len(next.Content) > 0 {
		fe.Line = next.Content[0].Line
	}
	return nil, fe
}

var linePattern = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

var anchorPattern = regexp.MustCompile(`^(?:yaml: )?unknown anchor '(.*)' referenced$`)

// lineError turns yaml.v3's "yaml: line 3: message" into a *FileError.
func lineError(file, msg string) *FileError {
	if m := linePattern.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return &FileError{File: file, Line: n, Message: m[2]}
	}
	return &FileError{File: file, Message: strings.TrimPrefix(msg, "yaml: ")}
}

// syntaxError locates a parse error. yaml.v3 names the line where the enclosing block began
// (or none, for an unknown alias), not the line at fault: the line at fault is the first whose
// addition makes the document fail with the same message.
func syntaxError(data []byte, file string, err error) *FileError {
	fe := lineError(file, err.Error())
	if m := anchorPattern.FindStringSubmatch(err.Error()); m != nil {
		fe.Line, fe.Column = find(data, "*"+m[1])
		return fe
	}
	lines := strings.SplitAfter(string(data), "\n")
	for n := 1; n <= len(lines) && n < 2000; n++ {
		var doc yaml.Node
		perr := yaml.Unmarshal([]byte(strings.Join(lines[:n], "")), &doc)
		if perr != nil && lineError(file, perr.Error()).Message == fe.Message {
			fe.Line = n
			break
		}
	}
	return fe
}

// find returns the 1-based line and column of the first occurrence of s in data, or 0, 0.
func find(data []byte, s string) (int, int) {
	i := bytes.Index(data, []byte(s))
	if i < 0 {
		return 0, 0
	}
	before := data[:i]
	return bytes.Count(before, []byte("\n")) + 1, i - bytes.LastIndexByte(before, '\n')
}

// typeErrorColumn finds the column of the value a type error at fe.Line is about: the node on
// that line with the quoted value ("cannot unmarshal !!str `abc` into int"), or the tag.
func typeErrorColumn(root *yaml.Node, fe *FileError) int {
	value, tag := "", ""
	if m := typeErrorPattern.FindStringSubmatch(fe.Message); m != nil {
		tag, value = m[1], m[2]
	}
	col := 0
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if col != 0 {
			return
		}
		if n.Line == fe.Line && ((value != "" && n.Kind == yaml.ScalarNode && n.Value == value) ||
			(value == "" && tag != "" && n.ShortTag() == tag)) {
			col = n.Column
			return
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(root)
	return col
}

var typeErrorPattern = regexp.MustCompile("^cannot unmarshal (!!\\w+)(?: `([^`]*)`)? into ")

// checkKeys appends a *FileError for every key of node that t has no field for, recursing
// into structs and lists of structs.
func checkKeys(node *yaml.Node, t reflect.Type, prefix, file string, errs *[]error) {
	switch {
	case t.Kind() == reflect.Slice && node.Kind == yaml.SequenceNode:
		for i, item := range node.Content {
			checkKeys(item, t.Elem(), fmt.Sprintf("%s[%d]", strings.TrimSuffix(prefix, "."), i)+".", file, errs)
		}
		return
	case t.Kind() != reflect.Struct || t == durationType || node.Kind != yaml.MappingNode:
		return // scalars and maps: the decoder checks their types
	}
	fields := map[string]reflect.Type{}
	var names []string
	for i := 0; i < t.NumField(); i++ {
		fields[yamlName(t.Field(i))] = t.Field(i).Type
		names = append(names, yamlName(t.Field(i)))
	}
	for i := 0; i+1 < len(node.Content); i += 2 {
		k, val := node.Content[i], node.Content[i+1]
		ft, ok := fields[k.Value]
		if !ok {
			msg := fmt.Sprintf("unknown key %q", prefix+k.Value)
			if s := Closest(k.Value, names); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", prefix+s)
			}
			*errs = append(*errs, &FileError{File: file, Line: k.Line, Column: k.Column, Message: msg})
			continue
		}
		if ft == durationType && val.Kind == yaml.ScalarNode && (val.Tag == "!!int" || val.Tag == "!!float") && val.Value != "0" {
			*errs = append(*errs, &FileError{File: file, Line: val.Line, Column: val.Column,
				Message: fmt.Sprintf("%s: duration %s has no unit (write e.g. %ss)", prefix+k.Value, val.Value, val.Value)})
			continue
		}
		checkKeys(val, ft, prefix+k.Value+".", file, errs)
	}
}

// MarshalYAML returns c as a YAML document in schema order, with durations written as
// "10s", secrets redacted and maps in flow style. It implements yaml.Marshaler.
func (c Config) MarshalYAML() (any, error) {
	return toNode(reflect.ValueOf(c)), nil
}

// YAML returns c.Redacted() as a YAML document.
func (c Config) YAML() ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(c.Redacted()); err != nil {
		return nil, fmt.Errorf("config: encode yaml: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("config: encode yaml: %w", err)
	}
	return buf.Bytes(), nil
}

// toNode converts a configuration value to a YAML node.
func toNode(v reflect.Value) *yaml.Node {
	switch {
	case v.Type() == durationType:
		return scalar(FormatDuration(time.Duration(v.Int())), "!!str")
	case v.Type() == reflect.TypeOf(Secret("")):
		return scalar(v.Interface().(Secret).Redacted(), "!!str")
	}
	switch v.Kind() {
	case reflect.Struct:
		n := &yaml.Node{Kind: yaml.MappingNode}
		for i := 0; i < v.NumField(); i++ {
			n.Content = append(n.Content, scalar(yamlName(v.Type().Field(i)), "!!str"), toNode(v.Field(i)))
		}
		return n
	case reflect.Slice:
		n := &yaml.Node{Kind: yaml.SequenceNode}
		if v.Len() == 0 {
			n.Style = yaml.FlowStyle
		}
		for i := 0; i < v.Len(); i++ {
			n.Content = append(n.Content, toNode(v.Index(i)))
		}
		return n
	case reflect.Map:
		n := &yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle}
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		for _, k := range keys {
			n.Content = append(n.Content, scalar(k.String(), "!!str"), toNode(v.MapIndex(k)))
		}
		return n
	case reflect.Bool:
		return scalar(strconv.FormatBool(v.Bool()), "!!bool")
	case reflect.Int, reflect.Int64:
		return scalar(strconv.FormatInt(v.Int(), 10), "!!int")
	default:
		return scalar(v.String(), "!!str")
	}
}

func scalar(value, tag string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: value}
}

// FormatDuration writes d the way zdd.yaml does: 30m rather than 30m0s, 1h30m, 10s, 0s.
func FormatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// Closest returns the candidate nearest to s by edit distance, or "" when none is within a
// third of s's length (at least 2 edits). The command line uses it for "did you mean" hints.
func Closest(s string, candidates []string) string {
	best, bestD := "", max(2, len(s)/3)+1
	for _, c := range candidates {
		if d := levenshtein(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// levenshtein is the edit distance between a and b.
func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// sortedKeys returns m's keys in order.
func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
