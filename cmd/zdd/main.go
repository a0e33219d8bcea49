// Command zdd deploys Java web applications to a Tomcat cluster with zero downtime.
// See `zdd help` and docs/; the logic lives in internal/zddcmd.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/saitodrom/zdd/cmd/zdd/internal/iostreams"
	"github.com/saitodrom/zdd/cmd/zdd/internal/zddcmd"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() { <-ctx.Done(); stop() }() // a second signal kills at once
	os.Exit(zddcmd.Main(ctx, os.Args[1:], iostreams.System()))
}
