package build

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// TestGoreleaserInjectsThisPackage keeps .goreleaser.yml's ldflags pointing at these variables
// (`goreleaser check` validates the file's shape, not the -X paths).
func TestGoreleaserInjectsThisPackage(t *testing.T) {
	data, err := os.ReadFile("../../../../.goreleaser.yml")
	require.NoError(t, err)
	var cfg struct {
		Version int `yaml:"version"`
		Builds  []struct {
			Main    string   `yaml:"main"`
			Env     []string `yaml:"env"`
			Goos    []string `yaml:"goos"`
			Goarch  []string `yaml:"goarch"`
			Flags   []string `yaml:"flags"`
			Ldflags []string `yaml:"ldflags"`
		} `yaml:"builds"`
		Nfpms []struct {
			Formats []string `yaml:"formats"`
		} `yaml:"nfpms"`
	}
	require.NoError(t, yaml.Unmarshal(data, &cfg))
	assert.Equal(t, 2, cfg.Version)
	require.Len(t, cfg.Builds, 1)
	b := cfg.Builds[0]
	assert.Equal(t, "./cmd/zdd", b.Main)
	assert.Contains(t, b.Env, "CGO_ENABLED=0")
	assert.Contains(t, b.Flags, "-trimpath")
	assert.ElementsMatch(t, []string{"linux", "darwin"}, b.Goos)
	assert.ElementsMatch(t, []string{"amd64", "arm64"}, b.Goarch)
	ldflags := strings.Join(b.Ldflags, " ")
	for _, v := range []string{"Version", "Commit", "Date"} {
		assert.Contains(t, ldflags, "-X github.com/saitodrom/zdd/cmd/zdd/internal/build."+v+"=")
	}
	require.Len(t, cfg.Nfpms, 1)
	assert.ElementsMatch(t, []string{"deb", "rpm"}, cfg.Nfpms[0].Formats)
}
