package tomcatmgr_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/saitodrom/zdd/tomcatmgr"
)

// Deploy a new version next to the running one, then prove a probe session replicated.
func Example() {
	c, err := tomcatmgr.New(tomcatmgr.Config{Node: "n1", BaseURL: "http://127.0.0.1:18081/manager",
		User: "zdd", Password: "secret", DeployTimeout: 3 * time.Minute})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	next := tomcatmgr.Context{Path: "/app", Version: "002"}
	err = c.Deploy(ctx, next, "app.war", func(sent, total int64) { fmt.Printf("\r%d/%d", sent, total) })
	switch {
	case errors.Is(err, tomcatmgr.ErrAlreadyExists):
		fmt.Println("already deployed")
	case errors.Is(err, tomcatmgr.ErrFailedToStart):
		_ = c.Undeploy(ctx, next) // it stays deployed and stopped otherwise
	case errors.Is(err, tomcatmgr.ErrTimeout), errors.Is(err, tomcatmgr.ErrUnreachable):
		apps, _ := c.List(ctx) // outcome unknown: look
		fmt.Println(apps)
	}
	m, _ := c.SessionManager(ctx, next)
	found, _ := c.HasSession(ctx, next, "27720968B63D5EFF81A5B425041A53C4.n2")
	fmt.Println(m.Clustered, found)
}
