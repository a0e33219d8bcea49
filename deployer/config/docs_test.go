package config

import (
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// flatDefaults returns Default() as key -> text, for scalar keys.
func flatDefaults() map[string]string {
	out := map[string]string{}
	var walk func(v reflect.Value, prefix string)
	walk = func(v reflect.Value, prefix string) {
		for i := 0; i < v.NumField(); i++ {
			key := prefix + yamlName(v.Type().Field(i))
			f := v.Field(i)
			switch {
			case f.Type() == durationType:
				out[key] = FormatDuration(time.Duration(f.Int()))
			case f.Kind() == reflect.Struct:
				walk(f, key+".")
			case f.Kind() == reflect.Slice || f.Kind() == reflect.Map:
			default:
				out[key] = fmt.Sprint(f.Interface())
			}
		}
	}
	walk(reflect.ValueOf(Default()), "")
	return out
}

// TestDocsListEveryKeyWithItsDefault keeps docs/config.md in step with the structs.
func TestDocsListEveryKeyWithItsDefault(t *testing.T) {
	data, err := os.ReadFile("../../docs/config.md")
	require.NoError(t, err)
	rows := map[string]string{} // documented key -> default column
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z_.\\[\\]]+)` \\| ([^|]*) \\|").FindAllStringSubmatch(string(data), -1) {
		rows[strings.ReplaceAll(m[1], "[]", "")] = strings.TrimSpace(m[2])
	}
	defaults := flatDefaults()
	var leaves []string
	for _, key := range Keys() {
		if key == "nodes" || key == "lb.hosts" {
			leaves = append(leaves, itemKeys(key)...)
			continue
		}
		leaves = append(leaves, key)
	}
	for _, key := range leaves {
		col, ok := rows[key]
		if !assert.True(t, ok, "docs/config.md has no row for %s", key) {
			continue
		}
		if def := defaults[key]; def != "" {
			assert.True(t, sameValue(col, def), "%s: docs say %q, default is %q", key, col, def)
		} else if key != "nodes.weight" {
			assert.True(t, strings.HasPrefix(col, "none"), "%s: docs say %q, there is no default", key, col)
		}
	}
	for key := range rows {
		assert.Contains(t, leaves, key, "docs/config.md documents a key that does not exist")
	}
}

// itemKeys returns "nodes.name", ... for the list key.
func itemKeys(list string) []string {
	var t reflect.Type
	switch list {
	case "nodes":
		t = reflect.TypeOf(Node{})
	case "lb.hosts":
		t = reflect.TypeOf(LBHost{})
	}
	var keys []string
	for i := 0; i < t.NumField(); i++ {
		keys = append(keys, list+"."+yamlName(t.Field(i)))
	}
	return keys
}

// sameValue reports whether the docs column starts with `def`, comparing durations by value.
func sameValue(col, def string) bool {
	m := regexp.MustCompile("^`([^`]*)`").FindStringSubmatch(col)
	if m == nil {
		return false
	}
	if a, err := time.ParseDuration(m[1]); err == nil {
		b, err := time.ParseDuration(def)
		return err == nil && a == b
	}
	return m[1] == def
}
