package testenv

import (
	"archive/zip"
	"fmt"
	"io"
	"math/rand/v2"
	"regexp"
	"strings"
)

// WAROptions selects the variant of the sample application that BuildWAR writes.
type WAROptions struct {
	// Version is shown by every page (e.g. "002"). Required.
	Version string
	// FailHealth makes the health page answer 500.
	FailHealth bool
	// NotDistributable leaves <distributable/> out of web.xml, so sessions are not replicated.
	NotDistributable bool
	// PadMB adds an incompressible file of this many MiB, for upload and memory tests.
	PadMB int
}

var warVersionRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,32}$`)

// BuildWAR writes the sample application to w. It needs no Java compiler: the pages are JSPs,
// compiled by Tomcat. Pages, all text/plain:
//
//	/            version=V node=N session=ID count=C   (creates the session; C counts its requests)
//	/version.jsp version=V node=N                       (never creates a session)
//	/health.jsp  OK (200), or FAIL (500) with FailHealth
func BuildWAR(w io.Writer, opts WAROptions) error {
	if !warVersionRE.MatchString(opts.Version) {
		return fmt.Errorf("testenv: war version %q: use 1-32 letters, digits, '.', '_' or '-'", opts.Version)
	}
	if opts.PadMB < 0 {
		return fmt.Errorf("testenv: war padding %d MB: must not be negative", opts.PadMB)
	}
	zw := zip.NewWriter(w)
	files := []struct{ name, body string }{
		{"META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\nCreated-By: zdd testenv\r\n\r\n"},
		{"WEB-INF/web.xml", webXML(!opts.NotDistributable)},
		{"index.jsp", indexJSP(opts.Version)},
		{"version.jsp", versionJSP(opts.Version)},
		{"health.jsp", healthJSP(opts.FailHealth)},
	}
	for _, f := range files {
		fw, err := zw.Create(f.name)
		if err != nil {
			return err
		}
		if _, err := io.WriteString(fw, f.body); err != nil {
			return err
		}
	}
	if opts.PadMB > 0 {
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: "WEB-INF/padding.bin", Method: zip.Store})
		if err != nil {
			return err
		}
		rng := rand.NewChaCha8([32]byte{1})
		if _, err := io.CopyN(fw, rng, int64(opts.PadMB)<<20); err != nil {
			return err
		}
	}
	return zw.Close()
}

func webXML(distributable bool) string {
	d := ""
	if distributable {
		d = "\n  <distributable/>"
	}
	return `<?xml version="1.0" encoding="UTF-8"?>
<web-app xmlns="https://jakarta.ee/xml/ns/jakartaee" version="6.0"
         xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
         xsi:schemaLocation="https://jakarta.ee/xml/ns/jakartaee https://jakarta.ee/xml/ns/jakartaee/web-app_6_0.xsd">
  <display-name>zdd sample application</display-name>` + d + `
  <session-config><session-timeout>30</session-timeout></session-config>
  <welcome-file-list><welcome-file>index.jsp</welcome-file></welcome-file-list>
</web-app>
`
}

// A JSP prints the newline after a scriptlet's closing %>, so the text starts right after it.
func indexJSP(version string) string {
	return strings.ReplaceAll(`<%@ page contentType="text/plain; charset=UTF-8" session="true" %><%
Integer count = (Integer) session.getAttribute("count");
count = (count == null) ? 1 : count + 1;
session.setAttribute("count", count);
%>version=@V@ node=<%= System.getProperty("zdd.node") %> session=<%= session.getId() %> count=<%= count %>
`, "@V@", version)
}

func versionJSP(version string) string {
	return strings.ReplaceAll(`<%@ page contentType="text/plain; charset=UTF-8" session="false" %>version=@V@ node=<%= System.getProperty("zdd.node") %>
`, "@V@", version)
}

func healthJSP(fail bool) string {
	if fail {
		return `<%@ page contentType="text/plain; charset=UTF-8" session="false" %><% response.setStatus(500); %>FAIL
`
	}
	return `<%@ page contentType="text/plain; charset=UTF-8" session="false" %>OK
`
}
