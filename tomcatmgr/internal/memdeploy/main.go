// Command memdeploy measures the memory a streamed deploy costs: it deploys one WAR to every
// Tomcat node of a running testenv at once through tomcatmgr, then undeploys it. Run it under
// /usr/bin/time -v and read "Maximum resident set size":
//
//	go run ./tomcatmgr/internal/memdeploy -make /tmp/big.war -mb 200     # build the WAR (not measured)
//	go build -o /tmp/memdeploy ./tomcatmgr/internal/memdeploy
//	/usr/bin/time -v /tmp/memdeploy -war /tmp/big.war
//
// It is a measuring tool for the memory target (peak RSS <= 64 MB for a 200 MB WAR to
// three nodes), not part of zdd.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/go-resty/resty/v2"

	"github.com/saitodrom/zdd/testenv"
	"github.com/saitodrom/zdd/tomcatmgr"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "memdeploy:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		dir     = flag.String("dir", "", "testenv state directory (default: testenv's default)")
		war     = flag.String("war", "", "WAR to deploy")
		mk      = flag.String("make", "", "only build the sample WAR to this file and exit")
		mb      = flag.Int("mb", 200, "with -make: incompressible padding in MiB")
		path    = flag.String("path", "/tmgrmem", "context path to deploy under")
		version = flag.String("version", "001", "version to deploy")
		keep    = flag.Bool("keep", false, "do not undeploy afterwards")
		naive   = flag.Bool("naive", false, "for comparison: PUT with resty's SetBody(*os.File) instead of tomcatmgr")
	)
	flag.Parse()
	if *mk != "" {
		f, err := os.Create(*mk)
		if err != nil {
			return err
		}
		if err := testenv.BuildWAR(f, testenv.WAROptions{Version: *version, PadMB: *mb}); err != nil {
			_ = f.Close()
			return err
		}
		return f.Close()
	}
	if *war == "" {
		return errors.New("-war is required")
	}
	env, err := testenv.Load(*dir)
	if err != nil {
		return err
	}
	cx := tomcatmgr.Context{Path: *path, Version: *version}
	if *naive {
		return naiveAll(env, *war, cx)
	}
	return deployAll(env, *war, cx, *keep)
}

func deployAll(env *testenv.Env, war string, cx tomcatmgr.Context, keep bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, len(env.Nodes))
	clients := make([]*tomcatmgr.Client, len(env.Nodes))
	for i, n := range env.Nodes {
		c, err := tomcatmgr.New(tomcatmgr.Config{Node: n.Name, BaseURL: n.ManagerURL, User: env.Manager.User, Password: env.Manager.Password})
		if err != nil {
			return err
		}
		clients[i] = c
		wg.Add(1)
		go func() {
			defer wg.Done()
			last := int64(0)
			errs[i] = c.Deploy(ctx, cx, war, func(sent, total int64) {
				if sent-last >= 50<<20 || sent == total {
					last = sent
					fmt.Printf("%s: %d/%d MiB\n", n.Name, sent>>20, total>>20)
				}
			})
		}()
	}
	wg.Wait()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("deployed %s to %d nodes at once in %s; Go heap in use %d MiB, obtained from OS %d MiB\n",
		cx.Name(), len(env.Nodes), time.Since(start).Round(time.Millisecond), ms.HeapInuse>>20, ms.Sys>>20)
	if !keep {
		for _, c := range clients {
			if err := c.Undeploy(ctx, cx); err != nil && !errors.Is(err, tomcatmgr.ErrNotFound) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// naiveAll deploys with resty's own io.Reader body handling, which reads the body into memory.
func naiveAll(env *testenv.Env, war string, cx tomcatmgr.Context) error {
	var wg sync.WaitGroup
	errs := make([]error, len(env.Nodes))
	for i, n := range env.Nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f, err := os.Open(war)
			if err != nil {
				errs[i] = err
				return
			}
			defer func() { _ = f.Close() }()
			resp, err := resty.New().SetBasicAuth(env.Manager.User, env.Manager.Password).R().
				SetQueryParams(map[string]string{"path": cx.Path, "version": cx.Version}).
				SetBody(f).Put(n.ManagerURL + "/text/deploy")
			if err == nil {
				fmt.Printf("%s: %s\n", n.Name, resp.String())
				c, _ := tomcatmgr.New(tomcatmgr.Config{Node: n.Name, BaseURL: n.ManagerURL, User: env.Manager.User, Password: env.Manager.Password})
				err = c.Undeploy(context.Background(), cx)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
