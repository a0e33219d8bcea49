// Package build holds the version information set at build time with
//
//	go build -ldflags "-X github.com/saitodrom/zdd/cmd/zdd/internal/build.Version=1.2.3 \
//	  -X github.com/saitodrom/zdd/cmd/zdd/internal/build.Commit=abc1234 \
//	  -X github.com/saitodrom/zdd/cmd/zdd/internal/build.Date=2026-01-02T03:04:05Z"
//
// .goreleaser.yml sets all three.
package build

// Version is the release version, "dev" when not set at build time.
var Version = "dev"

// Commit is the source commit, "none" when not set at build time.
var Commit = "none"

// Date is the build time (RFC 3339), "unknown" when not set at build time.
var Date = "unknown"
