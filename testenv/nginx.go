package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/saitodrom/zdd/deployer/wait"
)

const (
	nginxBin   = "/usr/sbin/nginx"
	lbHTTPPort = 18090 // lb i listens on lbHTTPPort+i
)

// lbInfo describes load balancer i (1-based).
func lbInfo(dir string, i, off int) LB {
	name := fmt.Sprintf("lb%d", i)
	d := filepath.Join(dir, name)
	main := filepath.Join(d, "nginx.conf")
	errLog := filepath.Join(d, "error.log")
	base := fmt.Sprintf("%s -c %s -e %s", nginxBin, main, errLog)
	return LB{
		Name: name, URL: fmt.Sprintf("http://127.0.0.1:%d", lbHTTPPort+off+i),
		SSHAddr: fmt.Sprintf("%s:%d", lbSSHHosts[i-1], sshPort+off),
		Dir:     d, MainConfig: main, UpstreamFile: filepath.Join(d, "upstreams.conf"),
		ErrorLog: errLog, PidFile: filepath.Join(d, "nginx.pid"),
		TestCommand: base + " -t", ReloadCommand: base + " -s reload",
	}
}

func nginxProcess(lb LB) process {
	return process{name: lb.Name, pidFile: filepath.Join(lb.Dir, "nginx.pid.testenv"), logFile: filepath.Join(lb.Dir, "console.log"), marker: lb.MainConfig}
}

// upstreamsConf is the file zdd rewrites: a weighted pool of every node and, in sticky mode,
// one block per node that prefers it and falls back to the others.
func upstreamsConf(mode Mode, nodes []Node) string {
	var b strings.Builder
	b.WriteString("# Upstream servers, written by zdd testenv; zdd rewrites weights and 'down' here.\n")
	b.WriteString("upstream tomcat {\n")
	for _, n := range nodes {
		fmt.Fprintf(&b, "    server %s weight=1 max_fails=1 fail_timeout=2s; # %s\n", n.Upstream, n.Name)
	}
	b.WriteString("    keepalive 16;\n}\n")
	if mode != Sticky {
		return b.String()
	}
	for _, owner := range nodes {
		fmt.Fprintf(&b, "\n# Sessions whose JSESSIONID ends in .%s.\nupstream tomcat_%s {\n", owner.Name, owner.Name)
		fmt.Fprintf(&b, "    server %s max_fails=1 fail_timeout=2s;\n", owner.Upstream)
		for _, n := range nodes {
			if n.Name != owner.Name {
				fmt.Fprintf(&b, "    server %s backup;\n", n.Upstream)
			}
		}
		b.WriteString("    keepalive 16;\n}\n")
	}
	return b.String()
}

// nginxConf is the main configuration of one load balancer.
func nginxConf(lb LB, mode Mode, nodes []Node) string {
	backend := "tomcat"
	var maps strings.Builder
	if mode == Sticky {
		backend = "$zdd_backend"
		maps.WriteString(`    map $cookie_JSESSIONID $zdd_route_cookie { ~.+\.(?P<route>\w+)$ $route; default ""; }
    map $request_uri $zdd_route_uri { ~jsessionid=.+\.(?P<route>\w+)$ $route; default ""; }
    map $zdd_route_cookie$zdd_route_uri $zdd_backend {
        default tomcat;
`)
		for _, n := range nodes {
			fmt.Fprintf(&maps, "        %s tomcat_%s;\n", n.Name, n.Name)
		}
		maps.WriteString("    }\n")
	}
	tmp := filepath.Join(lb.Dir, "tmp")
	return fmt.Sprintf(`# Load balancer %[1]s (%[2]s mode), written by zdd testenv.
worker_processes 2;
pid %[3]s;
error_log %[4]s notice;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path %[5]s/body;
    proxy_temp_path %[5]s/proxy;
    fastcgi_temp_path %[5]s/fastcgi;
    uwsgi_temp_path %[5]s/uwsgi;
    scgi_temp_path %[5]s/scgi;
    client_max_body_size 0;
    include %[6]s;
%[7]s
    server {
        listen %[8]s;
        location = /lb-health { default_type text/plain; return 200 "%[1]s\n"; }
        location / {
            proxy_pass http://%[9]s;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_connect_timeout 2s;
            proxy_read_timeout 8s;
            proxy_next_upstream error timeout http_502 http_503;
        }
    }
}
`, lb.Name, mode, lb.PidFile, lb.ErrorLog, tmp, lb.UpstreamFile, maps.String(), strings.TrimPrefix(lb.URL, "http://"), backend)
}

// writeNginx writes lb's configuration for mode and tells whether it changed. The upstream
// file is only written when it is missing or the mode changed: zdd owns its weights, and an
// idempotent `up` must not reset them.
func writeNginx(lb LB, mode Mode, nodes []Node) (bool, error) {
	if err := os.MkdirAll(filepath.Join(lb.Dir, "tmp"), 0o755); err != nil {
		return false, err
	}
	main := nginxConf(lb, mode, nodes)
	old, err := os.ReadFile(lb.MainConfig)
	if err == nil && string(old) == main {
		if _, err := os.Stat(lb.UpstreamFile); err == nil {
			return false, nil
		}
	}
	if err := os.WriteFile(lb.UpstreamFile, []byte(upstreamsConf(mode, nodes)), 0o644); err != nil {
		return false, err
	}
	return true, os.WriteFile(lb.MainConfig, []byte(main), 0o644)
}

// startNginx starts lb in the foreground of its own session, or reloads it when it already
// runs and its configuration changed.
func startNginx(ctx context.Context, lb LB, changed bool) error {
	p := nginxProcess(lb)
	if _, ok := p.running(); ok {
		if !changed {
			return nil
		}
		out, err := exec.CommandContext(ctx, nginxBin, "-c", lb.MainConfig, "-e", lb.ErrorLog, "-s", "reload").CombinedOutput()
		if err != nil {
			return fmt.Errorf("testenv: reload %s: %v: %s", lb.Name, err, out)
		}
		return nil
	}
	if err := checkFree(strings.TrimPrefix(lb.URL, "http://"), "Nginx "+lb.Name); err != nil {
		return err
	}
	if out, err := exec.CommandContext(ctx, nginxBin, "-c", lb.MainConfig, "-e", lb.ErrorLog, "-t").CombinedOutput(); err != nil {
		return fmt.Errorf("testenv: nginx -t for %s: %v: %s", lb.Name, err, out)
	}
	if err := p.start([]string{nginxBin, "-c", lb.MainConfig, "-e", lb.ErrorLog, "-g", "daemon off;"}, nil); err != nil {
		return err
	}
	return p.waitTCP(ctx, strings.TrimPrefix(lb.URL, "http://"), 10*time.Second)
}

// waitNginxPid waits for nginx to write its pid file (the master), which zdd reads to verify reloads.
func waitNginxPid(ctx context.Context, lb LB) error {
	return wait.Until(ctx, 50*time.Millisecond, 5*time.Second, lb.Name+" pid file", func(context.Context) (bool, error) {
		_, err := os.Stat(lb.PidFile)
		return err == nil, nil
	})
}
