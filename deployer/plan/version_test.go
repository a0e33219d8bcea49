package plan

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/deployer/outcome"
	"github.com/saitodrom/zdd/tomcatmgr"
)

func TestNextVersionRefusesWhatItCannotFollow(t *testing.T) {
	for _, c := range []struct {
		existing []string
		width    int
		want     string
	}{{nil, 3, "001"}, {[]string{"099"}, 3, "100"}, {[]string{"9"}, 1, ""}, {[]string{"0999999999"}, 10, "1000000000"}} {
		got, err := NextVersion(c.existing, c.width)
		if c.want == "" {
			assert.ErrorContains(t, err, "does not fit in 1 digits")
			continue
		}
		require.NoError(t, err)
		assert.Equal(t, c.want, got)
	}
	for _, c := range []struct {
		existing []string
		says     string
	}{
		{[]string{"001", "abc"}, `the newest deployed version "abc" is not a number`},
		{[]string{"0x3"}, `"0x3" is not a number`},
		{[]string{"02a"}, `"02a" is not a number`},
		{[]string{"1234"}, "the next version 1235 does not fit in 3 digits"},
		{[]string{"9999999999999"}, "does not fit in 3 digits"},
		{[]string{"99999999999999999999999"}, "does not fit in 3 digits"},
		{[]string{"002", "3"}, "the next version 004 would not sort above the deployed 002,3"},
	} {
		_, err := NextVersion(c.existing, 3)
		require.Error(t, err, "%v", c.existing)
		assert.Equal(t, 1, outcome.Code(err))
		assert.ErrorContains(t, err, c.says)
		assert.NotEmpty(t, outcome.Hint(err))
		assert.NotContains(t, outcome.Hint(err), "--version", "rollback has no --version: the hint must not send users there")
	}
}

func TestCheckVersion(t *testing.T) {
	require.NoError(t, CheckVersion("006", 3, []string{"005"}))
	require.NoError(t, CheckVersion("7", 1, nil))
	for _, v := range []string{"", "abc", "06", "0006", "0x6", "00a", "0.6", "0#6", "0/6", " 06", "06 ", "-06"} {
		err := CheckVersion(v, 3, []string{"005"})
		assert.Equal(t, 1, outcome.Code(err), "%q", v)
		assert.Contains(t, outcome.Hint(err), "give --version as 3 digits", "%q", v)
	}
	assert.ErrorContains(t, CheckVersion("005", 3, []string{"005"}), "does not sort above the deployed 005")
}

func TestBuildPlanChecksTheVersionForm(t *testing.T) {
	spec := &Spec{App: "app", VersionWidth: 3, Nodes: []NodeSpec{{Name: "n1"}}}
	_, err := BuildPlan(spec, &ClusterState{Apps: map[string][]tomcatmgr.App{}}, "abc", WARInfo{})
	assert.ErrorContains(t, err, `version "abc" must be decimal digits only`)
}
