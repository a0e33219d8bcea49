package testenv

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"text/template"
	"time"

	"github.com/saitodrom/zdd/deployer/wait"
)

// Debian's tomcat10 and tomcat10-admin packages install here.
const (
	catalinaHome = "/usr/share/tomcat10"
	managerApp   = "/usr/share/tomcat10-admin/manager"
	jdtJar       = "/usr/share/java/eclipse-jdt-core.jar" // Jasper's JSP compiler
	tomcatHTTP0  = 18080                                  // node i listens on tomcatHTTP0+i
	tribesPort0  = 14000                                  // node i's cluster receiver: tribesPort0+i
)

// tomcatNode describes node i (1-based).
func tomcatNode(dir string, i, off int) Node {
	name := fmt.Sprintf("n%d", i)
	url := fmt.Sprintf("http://127.0.0.1:%d", tomcatHTTP0+off+i)
	return Node{
		Name:       name,
		URL:        url,
		ManagerURL: url + "/manager",
		Upstream:   fmt.Sprintf("127.0.0.1:%d", tomcatHTTP0+off+i),
		TribesPort: tribesPort0 + off + i,
		Base:       filepath.Join(dir, name),
	}
}

func tomcatProcess(n Node) process {
	return process{name: n.Name, pidFile: filepath.Join(n.Base, "tomcat.pid"),
		logFile: filepath.Join(n.Base, "logs", "console.log"), marker: "catalina.base=" + n.Base}
}

// serverXML is each node's server.xml. See docs/testenv.md for why each cluster setting is chosen.
var serverXML = template.Must(template.New("server.xml").Funcs(template.FuncMap{"uniqueID": uniqueID}).Parse(`<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by zdd testenv for node {{.Node.Name}}. -->
<Server port="-1" shutdown="SHUTDOWN">
  <Listener className="org.apache.catalina.startup.VersionLoggerListener" logArgs="false"/>
  <Listener className="org.apache.catalina.core.JreMemoryLeakPreventionListener"/>
  <Listener className="org.apache.catalina.mbeans.GlobalResourcesLifecycleListener"/>
  <Listener className="org.apache.catalina.core.ThreadLocalLeakPreventionListener"/>
  <GlobalNamingResources>
    <Resource name="UserDatabase" auth="Container" type="org.apache.catalina.UserDatabase"
              factory="org.apache.catalina.users.MemoryUserDatabaseFactory" pathname="conf/tomcat-users.xml" readonly="true"/>
  </GlobalNamingResources>
  <Service name="Catalina">
    <Connector address="127.0.0.1" port="{{.HTTPPort}}" protocol="HTTP/1.1" connectionTimeout="20000"
               maxThreads="64" maxPostSize="-1" maxSwallowSize="-1"/>
    <Engine name="Catalina" defaultHost="localhost" jvmRoute="{{.Node.Name}}">
      <Realm className="org.apache.catalina.realm.LockOutRealm">
        <Realm className="org.apache.catalina.realm.UserDatabaseRealm" resourceName="UserDatabase"/>
      </Realm>
      <Cluster className="org.apache.catalina.ha.tcp.SimpleTcpCluster" channelSendOptions="6">
        <Manager className="org.apache.catalina.ha.session.DeltaManager"
                 expireSessionsOnShutdown="false" notifyListenersOnReplication="true"
                 stateTimestampDrop="false" stateTransferTimeout="60"/>
        <Channel className="org.apache.catalina.tribes.group.GroupChannel">
          <Membership className="org.apache.catalina.tribes.membership.StaticMembershipService"
                      connectTimeout="500" expirationTime="5000" rpcTimeout="3000">
{{- range .Members}}
            <Member className="org.apache.catalina.tribes.membership.StaticMember"
                    host="127.0.0.1" port="{{.TribesPort}}" uniqueId="{{uniqueID .Name}}"/>
{{- end}}
          </Membership>
          <Receiver className="org.apache.catalina.tribes.transport.nio.NioReceiver"
                    address="127.0.0.1" port="{{.Node.TribesPort}}" autoBind="1" selectorTimeout="5000" maxThreads="6"/>
          <Sender className="org.apache.catalina.tribes.transport.ReplicationTransmitter">
            <Transport className="org.apache.catalina.tribes.transport.nio.PooledParallelSender"/>
          </Sender>
          <Interceptor className="org.apache.catalina.tribes.group.interceptors.TcpPingInterceptor" staticOnly="true"/>
          <Interceptor className="org.apache.catalina.tribes.group.interceptors.TcpFailureDetector"
                       performReadTest="true" readTestTimeout="1000"/>
        </Channel>
        <Valve className="org.apache.catalina.ha.tcp.ReplicationValve" filter=".*\.ico|.*\.css|.*\.js|.*\.png"/>
        <ClusterListener className="org.apache.catalina.ha.session.ClusterSessionListener"/>
      </Cluster>
      <Host name="localhost" appBase="webapps" unpackWARs="true" autoDeploy="false" deployOnStartup="true"/>
    </Engine>
  </Service>
</Server>
`))

// uniqueID gives every node a distinct 16-byte Tribes id.
func uniqueID(name string) string {
	return "{0,0,0,0,0,0,0,0,0,0,0,0,0,0,0," + strings.TrimPrefix(name, "n") + "}"
}

// writeTomcatBase creates node n's CATALINA_BASE. Existing webapps are kept, so a restart
// deploys again what was deployed before (as a real Tomcat does).
func writeTomcatBase(n Node, all []Node, users [2]Credentials) error {
	for _, d := range []string{"conf/Catalina/localhost", "lib", "logs", "temp", "webapps", "work"} {
		if err := os.MkdirAll(filepath.Join(n.Base, d), 0o755); err != nil {
			return err
		}
	}
	var sx strings.Builder
	data := map[string]any{"Node": n, "Members": all, "HTTPPort": strings.TrimPrefix(n.Upstream, "127.0.0.1:")}
	if err := serverXML.Execute(&sx, data); err != nil {
		return err
	}
	files := map[string]string{
		"conf/server.xml":                     sx.String(),
		"conf/tomcat-users.xml":               tomcatUsers(users),
		"conf/context.xml":                    contextXML, // no <Manager>: it would silently turn clustering off
		"conf/Catalina/localhost/manager.xml": managerContext,
		"conf/logging.properties":             loggingProperties,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(n.Base, name), []byte(body), 0o600); err != nil {
			return err
		}
	}
	for _, name := range []string{"web.xml", "catalina.properties"} {
		b, err := os.ReadFile(filepath.Join("/etc/tomcat10", name))
		if err != nil {
			return fmt.Errorf("testenv: read Tomcat's %s: %w (is tomcat10 installed?)", name, err)
		}
		if err := os.WriteFile(filepath.Join(n.Base, "conf", name), b, 0o644); err != nil {
			return err
		}
	}
	link := filepath.Join(n.Base, "lib", filepath.Base(jdtJar))
	if _, err := os.Lstat(link); os.IsNotExist(err) {
		return os.Symlink(jdtJar, link)
	}
	return nil
}

func tomcatUsers(users [2]Credentials) string {
	var b strings.Builder
	b.WriteString("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<tomcat-users xmlns=\"http://tomcat.apache.org/xml\" version=\"1.0\">\n")
	b.WriteString("  <role rolename=\"manager-script\"/>\n  <role rolename=\"manager-jmx\"/>\n")
	for _, u := range users {
		fmt.Fprintf(&b, "  <user username=%q password=%q roles=\"manager-script,manager-jmx\"/>\n", u.User, u.Password)
	}
	b.WriteString("</tomcat-users>\n")
	return b.String()
}

const contextXML = `<?xml version="1.0" encoding="UTF-8"?>
<Context>
  <WatchedResource>WEB-INF/web.xml</WatchedResource>
  <WatchedResource>${catalina.base}/conf/web.xml</WatchedResource>
</Context>
`

const managerContext = `<?xml version="1.0" encoding="UTF-8"?>
<Context docBase="` + managerApp + `" antiResourceLocking="false" privileged="true">
  <Valve className="org.apache.catalina.valves.RemoteCIDRValve" allow="127.0.0.0/8,::1/128"/>
</Context>
`

const loggingProperties = `handlers = java.util.logging.ConsoleHandler
.handlers = java.util.logging.ConsoleHandler
java.util.logging.ConsoleHandler.level = FINE
java.util.logging.ConsoleHandler.formatter = org.apache.juli.OneLineFormatter
org.apache.catalina.tribes.level = WARNING
org.apache.catalina.ha.level = INFO
`

// startTomcat starts node n with a small heap, unless it already runs.
func startTomcat(n Node) error {
	p := tomcatProcess(n)
	if _, ok := p.running(); ok {
		return nil
	}
	if err := checkFree(n.Upstream, "Tomcat "+n.Name); err != nil {
		return err
	}
	if err := checkFree(fmt.Sprintf("127.0.0.1:%d", n.TribesPort), "the cluster receiver of "+n.Name); err != nil {
		return err
	}
	argv := []string{"java",
		"-Xms64m", "-Xmx256m", "-XX:+UseSerialGC", "-Xss512k",
		"-Djava.awt.headless=true", "-Djava.security.egd=file:/dev/./urandom",
		"-Djava.util.logging.config.file=" + filepath.Join(n.Base, "conf/logging.properties"),
		"-Djava.util.logging.manager=org.apache.juli.ClassLoaderLogManager",
		"--add-opens=java.base/java.lang=ALL-UNNAMED", "--add-opens=java.base/java.io=ALL-UNNAMED",
		"--add-opens=java.base/java.util=ALL-UNNAMED", "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
		"--add-opens=java.rmi/sun.rmi.transport=ALL-UNNAMED",
		"-Dzdd.node=" + n.Name,
		"-Dcatalina.home=" + catalinaHome, "-Dcatalina.base=" + n.Base,
		"-Djava.io.tmpdir=" + filepath.Join(n.Base, "temp"),
		"-classpath", catalinaHome + "/bin/bootstrap.jar:" + catalinaHome + "/bin/tomcat-juli.jar",
		"org.apache.catalina.startup.Bootstrap", "start"}
	return p.start(argv, nil)
}

// waitTomcat waits until node n's Manager answers an authenticated list.
func waitTomcat(ctx context.Context, n Node, user Credentials, timeout time.Duration) error {
	p := tomcatProcess(n)
	client := &http.Client{Timeout: 2 * time.Second}
	return wait.Until(ctx, 200*time.Millisecond, timeout, "Tomcat "+n.Name+" Manager", func(ctx context.Context) (bool, error) {
		if _, ok := p.running(); !ok {
			return false, fmt.Errorf("testenv: Tomcat %s exited while starting; see %s:\n%s", n.Name, p.logFile, tail(p.logFile, 15))
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, n.ManagerURL+"/text/serverinfo", nil)
		req.SetBasicAuth(user.User, user.Password)
		resp, err := client.Do(req)
		if err != nil {
			return false, wait.Reason(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusUnauthorized {
			// Never retried: five failed logins lock the user for 300 s.
			return false, fmt.Errorf("testenv: Tomcat %s refuses the Manager user %s (401): its tomcat-users.xml changed while it ran; run `zdd testenv down` then `up`", n.Name, user.User)
		}
		if resp.StatusCode != http.StatusOK {
			return false, wait.Reason(fmt.Errorf("manager answered %s", resp.Status))
		}
		return true, nil
	})
}
