package tomcatmgr

import (
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestContextNames(t *testing.T) {
	for _, tc := range []struct {
		c          Context
		name, base string
	}{
		{Context{"/app", "002"}, "/app##002", "app##002"},
		{Context{"/app", ""}, "/app", "app"},
		{Context{"/", "002"}, "/##002", "ROOT##002"},
		{Context{"/", ""}, "/", "ROOT"},
		{Context{"/a/b", "1.0"}, "/a/b##1.0", "a#b##1.0"},
	} {
		assert.Equal(t, tc.name, tc.c.Name())
		assert.Equal(t, tc.base, tc.c.BaseName())
		for _, s := range []string{tc.name, tc.base, tc.base + ".war"} {
			got, err := ParseName(s)
			require.NoError(t, err, s)
			assert.Equal(t, tc.c, got, s)
		}
	}
}

func TestValidation(t *testing.T) {
	for p, rule := range map[string]string{
		"":           "empty",
		"app":        "start with '/'",
		"/app/":      "end with '/'",
		"/a//b":      "empty segment",
		"/ROOT":      "ROOT",
		"/a/../b":    "\"..\" segment",
		"/a#b":       "'#'",
		"/a b":       "spaces",
		"/a\x01":     "control character",
		"/a:b":       "':'",
		"/a?b":       "'?'",
		"/caf\u00e9": "ASCII",
	} {
		err := ValidatePath(p)
		assert.ErrorIs(t, err, ErrInvalid, p)
		assert.ErrorContains(t, err, rule, p)
	}
	for _, p := range []string{"/", "/app", "/a/b", "/a-b_c.d~e"} {
		assert.NoError(t, ValidatePath(p), p)
	}
	for v, rule := range map[string]string{
		"":                       "empty",
		"0#2":                    "'#'",
		"1/2":                    "'/'",
		"..":                     "\"..\"",
		"1 2":                    "spaces",
		"1\n":                    "control",
		"1%2":                    "'%'",
		"v\u00e9":                "ASCII",
		string(make([]byte, 65)): "longer",
	} {
		err := ValidateVersion(v)
		assert.ErrorIs(t, err, ErrInvalid, v)
		assert.ErrorContains(t, err, rule, v)
	}
	for _, v := range []string{"002", "1.2.3", "2026-11-25_1", "rc1"} {
		assert.NoError(t, ValidateVersion(v), v)
	}
	_, err := ParseName("app##")
	assert.ErrorIs(t, err, ErrInvalid)
}

func TestTomcatVersionOrder(t *testing.T) {
	v := []string{"9", "10", "002", "011", "", "2"}
	sort.Slice(v, func(i, j int) bool { return CompareVersions(v[i], v[j]) < 0 })
	assert.Equal(t, []string{"", "002", "011", "10", "2", "9"}, v, "plain string order, as Tomcat's String.compareTo")
	assert.Equal(t, -1, CompareVersions("10", "9"))
	assert.Equal(t, 0, CompareVersions("002", "002"))
	assert.True(t, IsNewest("003", []string{"001", "002"}))
	assert.False(t, IsNewest("002", []string{"001", "002"}), "equal is not newer")
	assert.False(t, IsNewest("10", []string{"9"}), "10 sorts before 9")
	assert.True(t, IsNewest("001", nil))
}

func TestVersionFromDocBase(t *testing.T) {
	for _, tc := range []struct {
		path, docBase, want string
		ok                  bool
	}{
		{"/app", "app##002", "002", true},
		{"/app", "app##002.war", "002", true},
		{"/app", "app", "", true},
		{"/", "ROOT##003", "003", true},
		{"/a/b", "a#b##1", "1", true},
		{"/app", "/srv/app##002", "", false},
		{"/app", "other##002", "", false},
		{"/app", `C:\apps\app##002`, "", false},
		{"/app", "", "", false},
	} {
		v, ok := versionFromDocBase(tc.path, tc.docBase)
		assert.Equal(t, tc.ok, ok, tc.docBase)
		assert.Equal(t, tc.want, v, tc.docBase)
	}
}
