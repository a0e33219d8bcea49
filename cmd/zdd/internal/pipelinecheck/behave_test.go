package pipelinecheck

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// shellArgs are how each CI system runs a script: GitHub `bash --noprofile --norc -eo pipefail`,
// GitLab bash with errexit and pipefail, Jenkins `sh -xe` (tracing every command).
var shellArgs = map[string][]string{"bash": {"bash", "--noprofile", "--norc", "-eo", "pipefail"}, "sh": {"sh", "-xe"}}

// fakeZdd is a stand-in zdd: it logs its arguments, prints one JSON line, and exits with
// $FAKE_ZDD_EXIT.
const fakeZdd = `#!/bin/sh
printf '%s\n' "$*" >> "$FAKE_ZDD_LOG"
echo '{"schema":1,"type":"summary"}'
exit "${FAKE_ZDD_EXIT:-0}"
`

type run struct {
	code           int
	stdout, stderr string
	dir            string
	zddLog         string
	githubOutput   string
}

// runScript runs text with the shell of its CI system in a fresh directory, with only env (and
// a PATH where zdd is the stand-in) in its environment.
func runScript(t *testing.T, shell, text string, env map[string]string) run {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	require.NoError(t, os.Mkdir(bin, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(bin, "zdd"), []byte(fakeZdd), 0o755))
	work := filepath.Join(dir, "work")
	require.NoError(t, os.Mkdir(work, 0o755))
	args := append(append([]string(nil), shellArgs[shell]...), "-c", text)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = work
	cmd.Env = []string{"PATH=" + bin + ":/usr/bin:/bin", "HOME=" + dir,
		"FAKE_ZDD_LOG=" + filepath.Join(dir, "zdd.log"), "GITHUB_OUTPUT=" + filepath.Join(dir, "github_output")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := run{stdout: stdout.String(), stderr: stderr.String(), dir: work}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		r.code = exit.ExitCode()
	} else {
		require.NoError(t, err)
	}
	logData, _ := os.ReadFile(filepath.Join(dir, "zdd.log"))
	r.zddLog = string(logData)
	out, _ := os.ReadFile(filepath.Join(dir, "github_output"))
	r.githubOutput = string(out)
	return r
}

// TestScriptsParse runs the shell's own syntax check on every script (GitLab's also with sh,
// which GitLab uses when an image has no bash).
func TestScriptsParse(t *testing.T) {
	for _, tpl := range loadAll(t) {
		for _, s := range tpl.scripts {
			shells := []string{s.shell}
			if strings.HasPrefix(tpl.name, "gitlab") {
				shells = append(shells, "sh")
			}
			for _, sh := range shells {
				out, err := exec.Command(sh, "-n", "-c", s.text).CombinedOutput()
				assert.NoError(t, err, "%s: %s: %s -n: %s", tpl.name, s.where, sh, out)
			}
		}
	}
}

// checkScripts returns each template's variable check with the environment that selects a
// release (deploy), keyed by template name.
func checkScripts(t *testing.T) map[string]script {
	out := map[string]script{}
	for _, tpl := range loadAll(t) {
		for _, s := range tpl.scripts {
			text := s.text
			if strings.HasPrefix(tpl.name, "gitlab") {
				before := l(t, m(t, tpl.doc[".zdd"], ".zdd")["before_script"], ".zdd.before_script")
				text = str(t, before[0], "before_script[0]")
			}
			if !strings.Contains(text, "Fail early") || strings.Contains(s.where, "promote") || strings.Contains(s.where, "rollback") {
				continue
			}
			if _, seen := out[tpl.name]; !seen {
				out[tpl.name] = script{where: s.where, text: text, shell: s.shell}
			}
		}
		require.Contains(t, out, tpl.name, "%s has no variable check", tpl.name)
	}
	return out
}

// releaseSwitches select the deploy path of the templates that serve several commands.
var releaseSwitches = map[string]string{"ZDD_JOB_NEEDS_WAR": "true", "ZDD_ACTION": "deploy", "ZDD_COMMAND": "deploy"}

// TestUnsetVariablesFailEarlyWithTheirNames: with nothing set, each template's first script
// fails and names every required variable; with everything set it passes and prints no secret,
// even under Jenkins' `sh -x`.
func TestUnsetVariablesFailEarlyWithTheirNames(t *testing.T) {
	required := []string{"ZDD_CONFIG", "ZDD_WAR", "ZDD_TOMCAT_PASSWORD", "ZDD_DATABASE_PASSWORD"}
	for name, s := range checkScripts(t) {
		t.Run(name, func(t *testing.T) {
			r := runScript(t, s.shell, s.text, releaseSwitches)
			assert.NotEqual(t, 0, r.code)
			for _, v := range required {
				assert.Regexp(t, `required variable `+v+` is not set`, r.stdout+r.stderr)
			}
			assert.Empty(t, r.zddLog, "zdd did not run")

			env := map[string]string{"ZDD_CONFIG": "zdd.yaml", "ZDD_WAR": "app.war",
				"ZDD_TOMCAT_PASSWORD": "tomcat-s3cret-value", "ZDD_DATABASE_PASSWORD": "db-s3cret-value"}
			for k, v := range releaseSwitches {
				env[k] = v
			}
			r = runScript(t, s.shell, s.text, env)
			assert.Equal(t, 0, r.code, r.stdout+r.stderr)
			assert.NotContains(t, r.stdout+r.stderr, "s3cret")

			delete(env, "ZDD_DATABASE_PASSWORD")
			env["ZDD_REQUIRE_DATABASE"] = "false"
			r = runScript(t, s.shell, s.text, env)
			assert.Equal(t, 0, r.code, "no database: its password is not required: %s", r.stdout+r.stderr)
		})
	}
}

// commandScripts returns, for each template, the scripts that run `zdd <command>`.
func commandScripts(t *testing.T, command string) map[string]script {
	out := map[string]script{}
	for _, tpl := range loadAll(t) {
		for _, s := range tpl.scripts {
			invs, err := zddInvocations(s.body)
			require.NoError(t, err)
			for _, inv := range invs {
				if p, err := checkInvocation(inv); err == nil && p == command {
					out[tpl.name+": "+s.where] = s
				}
			}
		}
	}
	require.Len(t, out, 4, "one script per template runs zdd %s: %v", command, out)
	return out
}

var commandEnv = map[string]string{"ZDD_CONFIG": "zdd.yaml", "ZDD_WAR": "target/app.war", "ZDD_LOCK_WAIT": "10m",
	"ZDD_TIMEOUT": "50m", "ZDD_NO_DRAIN": "true", "ZDD_ROLLBACK_HARD": "false", "ZDD_RELEASE_VERSION": ""}

// TestDeployExitCodes runs each template's deploy script with zdd exiting each code: 7 is
// "waiting for approval" (the GitHub step succeeds and says so in its outputs; GitLab's job
// exits 7, which its allow_failure accepts; Jenkins' Groovy decides on the status), every other
// failure fails the job with zdd's code, and the event log is written.
func TestDeployExitCodes(t *testing.T) {
	for where, s := range commandScripts(t, "deploy") {
		for _, code := range []int{0, 1, 2, 3, 4, 5, 6, 7, 130} {
			env := map[string]string{"FAKE_ZDD_EXIT": strconv.Itoa(code), "ZDD_COMMAND": "deploy"}
			for k, v := range commandEnv {
				env[k] = v
			}
			r := runScript(t, s.shell, s.body, env)
			assert.Contains(t, r.zddLog, "deploy target/app.war --output json --lock-wait 10m --timeout 50m --no-drain\n", where)
			events, err := filepath.Glob(filepath.Join(r.dir, "zdd-*events.jsonl"))
			require.NoError(t, err)
			if assert.Len(t, events, 1, where) {
				data, _ := os.ReadFile(events[0])
				assert.Equal(t, "{\"schema\":1,\"type\":\"summary\"}\n", string(data), "%s: stdout of zdd is the event log", where)
			}
			want := code
			switch {
			case strings.HasPrefix(where, "github"):
				if code == 7 {
					want = 0
					assert.Contains(t, r.stdout, "waiting for approval", where)
				}
				assert.Contains(t, r.githubOutput, "exit-code="+strconv.Itoa(code)+"\n", where)
				if strings.Contains(where, "action") && code == 7 {
					assert.Contains(t, r.githubOutput, "outcome=paused\n", where)
				}
			case strings.HasPrefix(where, "gitlab") && code == 7:
				assert.Contains(t, r.stdout, "waiting for approval", where)
			}
			assert.Equal(t, want, r.code, "%s: zdd exit %d: %s%s", where, code, r.stdout, r.stderr)
		}
	}
}

// TestPromoteAndRollbackTreatNothingToDoAsSuccess: exit 6 of zdd promote and zdd rollback
// passes the job; any other failure fails it with zdd's code.
func TestPromoteAndRollbackTreatNothingToDoAsSuccess(t *testing.T) {
	for _, command := range []string{"promote", "rollback"} {
		for where, s := range commandScripts(t, command) {
			for code, want := range map[int]int{0: 0, 6: 0, 1: 1, 4: 4, 5: 5, 7: 7, 130: 130} {
				env := map[string]string{"FAKE_ZDD_EXIT": strconv.Itoa(code), "ZDD_COMMAND": command}
				for k, v := range commandEnv {
					env[k] = v
				}
				r := runScript(t, s.shell, s.body, env)
				assert.Equal(t, want, r.code, "%s: zdd %s exit %d: %s%s", where, command, code, r.stdout, r.stderr)
				if command == "rollback" {
					assert.Contains(t, r.zddLog, "rollback --yes --output json\n", where)
				} else {
					assert.Contains(t, r.zddLog, "promote --output json --lock-wait 10m --timeout 50m\n", where)
				}
			}
		}
	}
}

// TestJenkinsDecidesOnExitCodes pins the Groovy side of the Jenkinsfile: the deploy stage takes
// zdd's status, 7 leads to the approval stage and no error, every other failure to error(), and
// promote and rollback are offered after approval or as ZDD_ACTION.
func TestJenkinsDecidesOnExitCodes(t *testing.T) {
	_, stages := loadJenkins(t)
	byName := map[string]jenkinsStage{}
	for _, st := range stages {
		byName[st.name] = st
	}
	raw := readTemplate(t, "jenkins/Jenkinsfile")
	deploy := byName["zdd: deploy"]
	require.NotEmpty(t, deploy.scripts)
	assert.Contains(t, raw, "code = sh(returnStatus: true, script: '''")
	cases := regexp.MustCompile(`(?s)case (\d+):(.*?)break`).FindAllStringSubmatch(sliceOf(raw, "switch (code)", "default:"), -1)
	seen := map[string]bool{}
	for _, c := range cases {
		seen[c[1]] = true
		if c[1] == "0" || c[1] == "7" {
			assert.NotContains(t, c[2], "error(", "case %s must not fail the build", c[1])
		} else {
			assert.Contains(t, c[2], "error(", "case %s must fail the build", c[1])
		}
	}
	for _, code := range []string{"0", "3", "4", "5", "7", "130"} {
		assert.True(t, seen[code], "no case for exit %s", code)
	}
	assert.Contains(t, sliceOf(raw, "switch (code)", "\n        }\n"), "default:\n                            error(")
	approve := sliceOf(raw, "stage('zdd: approve')", "stage('zdd: promote')")
	assert.Contains(t, approve, "beforeInput true", "the input is asked only when deploy paused")
	assert.Contains(t, approve, "environment name: 'ZDD_DEPLOY_EXIT', value: '7'")
	assert.Contains(t, approve, "input {")
	for _, next := range []string{"promote", "rollback"} {
		st := sliceOf(raw, "stage('zdd: "+next+"')", "archiveArtifacts")
		assert.Contains(t, st, "params.ZDD_ACTION == '"+next+"'")
		assert.Contains(t, st, "environment name: 'ZDD_NEXT', value: '"+next+"'")
	}
}

func sliceOf(s, from, to string) string {
	i := strings.Index(s, from)
	if i < 0 {
		return ""
	}
	j := strings.Index(s[i:], to)
	if j < 0 {
		return s[i:]
	}
	return s[i : i+j+len(to)]
}

// TestGitLabJobs pins the GitLab-specific settings: 7 accepted, manual promote and rollback,
// event logs kept even when the job fails, rollback available without a successful deploy.
func TestGitLabJobs(t *testing.T) {
	_, doc := parseYAML(t, "gitlab/zdd.gitlab-ci.yml")
	jobs := gitlabJobs(t, doc)
	deploy := jobs["zdd:deploy"]
	assert.Equal(t, []any{7}, m(t, deploy["allow_failure"], "allow_failure")["exit_codes"])
	for name, artifact := range map[string]string{"zdd:deploy": "zdd-events.jsonl", "zdd:promote": "zdd-promote-events.jsonl", "zdd:rollback": "zdd-rollback-events.jsonl"} {
		a := m(t, jobs[name]["artifacts"], name+".artifacts")
		assert.Equal(t, "always", a["when"], name)
		assert.Equal(t, []any{artifact}, a["paths"], name)
	}
	for _, name := range []string{"zdd:promote", "zdd:rollback"} {
		assert.Equal(t, "manual", jobs[name]["when"], name)
	}
	assert.Equal(t, []any{"zdd:deploy"}, jobs["zdd:promote"]["needs"])
	assert.Equal(t, []any{"zdd:plan"}, jobs["zdd:rollback"]["needs"])
}

// TestGitHubWorkflowWiring pins the reusable workflow's jobs: promote after exit 7, rollback after
// 4, 7 or 130, both behind an environment, and every inputs.X / secrets.X / steps.X it names
// exists.
func TestGitHubWorkflowWiring(t *testing.T) {
	for _, tpl := range []template{loadGitHubWorkflow(t), loadGitHubAction(t)} {
		var inputs map[string]any
		secrets := map[string]any{}
		if tpl.name == "github/action.yml" {
			inputs = m(t, tpl.doc["inputs"], "inputs")
		} else {
			call := m(t, m(t, tpl.doc["on"], "on")["workflow_call"], "workflow_call")
			inputs, secrets = m(t, call["inputs"], "inputs"), m(t, call["secrets"], "secrets")
		}
		code := regexp.MustCompile(`(?m)^\s*#.*$`).ReplaceAllString(tpl.raw, "") // the usage examples in comments
		for _, ref := range regexp.MustCompile(`\b(inputs|secrets)\.([A-Za-z0-9_-]+)`).FindAllStringSubmatch(code, -1) {
			decl := inputs
			if ref[1] == "secrets" {
				decl = secrets
			}
			assert.Contains(t, decl, ref[2], "%s: %s.%s is not declared", tpl.name, ref[1], ref[2])
		}
		for _, ref := range regexp.MustCompile(`\bsteps\.([A-Za-z0-9_-]+)\.outputs`).FindAllStringSubmatch(code, -1) {
			assert.Regexp(t, `(?m)^\s+id: `+ref[1]+`$`, tpl.raw, "%s: no step with id %s", tpl.name, ref[1])
		}
	}
	wf := loadGitHubWorkflow(t)
	jobs := m(t, wf.doc["jobs"], "jobs")
	promote, rollback := m(t, jobs["promote"], "promote"), m(t, jobs["rollback"], "rollback")
	assert.Contains(t, promote["if"], "needs.deploy.outputs.exit-code == '7'")
	assert.Contains(t, rollback["if"], `contains(fromJSON('["4","7","130"]'), needs.deploy.outputs.exit-code)`)
	assert.Equal(t, "${{ inputs.approval-environment }}", promote["environment"])
	assert.Equal(t, "${{ inputs.rollback-environment }}", rollback["environment"])
	assert.Equal(t, "${{ steps.deploy.outputs.exit-code }}", m(t, m(t, jobs["deploy"], "deploy")["outputs"], "outputs")["exit-code"])
}

// TestREADMEExplainsEveryVariable: each ZDD_ variable, input and secret of a template is in
// pipelines/README.md.
func TestREADMEExplainsEveryVariable(t *testing.T) {
	readme := readTemplate(t, "README.md")
	for _, tpl := range loadAll(t) {
		var missing []string
		for _, v := range regexp.MustCompile(`\bZDD_[A-Z0-9_]+`).FindAllString(tpl.raw, -1) {
			if !strings.Contains(readme, "`"+v+"`") {
				missing = append(missing, v)
			}
		}
		assert.Empty(t, missing, "%s uses variables pipelines/README.md does not explain", tpl.name)
	}
	for _, tpl := range []template{loadGitHubWorkflow(t), loadGitHubAction(t)} {
		var inputs map[string]any
		if tpl.name == "github/action.yml" {
			inputs = m(t, tpl.doc["inputs"], "inputs")
		} else {
			inputs = m(t, m(t, m(t, tpl.doc["on"], "on")["workflow_call"], "workflow_call")["inputs"], "inputs")
		}
		var missing []string
		for name := range inputs {
			if !strings.Contains(readme, "`"+name+"`") {
				missing = append(missing, name)
			}
		}
		assert.Empty(t, missing, "%s has inputs pipelines/README.md does not explain", tpl.name)
	}
}
