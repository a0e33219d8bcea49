// Package tomcatmgr is a typed client for the Tomcat Manager webapp: the text interface
// (/manager/text/*) and the JMX proxy (/manager/jmxproxy/).
//
// # What the Manager really answers
//
// The Manager reports success in the body, not the status code: the first line starts with
// "OK - " or "FAIL - " and failures come back as HTTP 200. Some failures print a FAIL line and
// then an OK line (an undeploy that found the context busy), so only the first line counts.
// The JMX proxy reports errors as "Error - <exception>" followed by a stack trace, also with 200.
// Statuses 401, 403 and 404 come from the container as HTML pages. Message text is localized;
// the client always sends Accept-Language: en and classifies failures into the error classes
// below, never into success.
//
// # Versions
//
// A versioned context is a path plus a version ("/app" + "002" = "/app##002", file app##002.war).
// Tomcat orders versions by plain string comparison, so "10" sorts before "9": use zero-padded
// versions. [CompareVersions] and [IsNewest] implement that ordering; [ValidatePath] and
// [ValidateVersion] refuse names that would not survive a URL, a file name or the list output.
//
// # Errors
//
// Every failure is an [*Error] carrying the operation, node, context and the Manager's first
// line. Use errors.Is with [ErrAuth], [ErrForbidden], [ErrNotFound], [ErrAlreadyExists],
// [ErrFailedToStart], [ErrBusy], [ErrUnreachable], [ErrTimeout], [ErrInvalid], [ErrProtocol] or
// [ErrFailed] to decide what to do next. Credentials never appear in errors or String output.
//
// # Timeouts and retries
//
// Every call takes a context. Reads (list, serverinfo, sessions, JMX query/get and the
// read-only invocations behind [Client.HasSession]) use Config.RequestTimeout per attempt and
// are retried with exponential backoff on transport errors and 5xx answers, never on 401
// (five failed logins lock the user for 300 s in Tomcat's default LockOutRealm). Deploy uses
// Config.DeployTimeout, because the Manager answers only once the context has started, which
// can include a cluster state transfer of up to a minute. Deploy, undeploy, start, stop,
// reload and expire are never retried: check the state with [Client.List] instead.
//
// # Streaming deploy
//
// [Client.Deploy] streams the WAR from disk with a Content-Length and never holds it in
// memory. resty reads any io.Reader request body fully into memory (to support retries and
// GetBody), so the client hands resty no body and attaches the file stream in its own
// http.RoundTripper. The WAR is checked to be a zip archive with a WEB-INF/ entry first.
//
// # Replication evidence
//
// [Client.SessionManager] reports the session manager class of a versioned context
// (DeltaManager or BackupManager when clustered) and its state-transfer counters,
// [Client.ClusterMembers] the members a node sees, and [Client.HasSession] whether a session
// id (with its jvmRoute suffix) exists on a node. Together they prove that a probe session
// created on one node is present on the others.
package tomcatmgr
