package pipelinecheck

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// pipelinesDir is the repository's pipelines/ directory.
const pipelinesDir = "../../../../pipelines"

// script is one shell script of a template.
type script struct {
	// where names it: template, job or stage, step.
	where string
	// text is the script as the shell receives it.
	text string
	// shell is "bash" or "sh".
	shell string
	// body is the part of text that runs zdd (GitLab: script without before_script).
	body string
}

// template is one CI template, parsed.
type template struct {
	name    string
	raw     string
	scripts []script
	// doc is the parsed YAML (nil for the Jenkinsfile).
	doc map[string]any
}

func readTemplate(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(pipelinesDir, rel))
	require.NoError(t, err)
	return string(b)
}

func parseYAML(t *testing.T, rel string) (string, map[string]any) {
	t.Helper()
	raw := readTemplate(t, rel)
	var doc map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(raw), &doc), "%s does not parse", rel)
	require.NotEmpty(t, doc, rel)
	return raw, doc
}

// m and l are checked type assertions for walking the YAML.
func m(t *testing.T, v any, what string) map[string]any {
	t.Helper()
	out, ok := v.(map[string]any)
	require.True(t, ok, "%s: want a mapping, got %T", what, v)
	return out
}

func l(t *testing.T, v any, what string) []any {
	t.Helper()
	out, ok := v.([]any)
	require.True(t, ok, "%s: want a list, got %T", what, v)
	return out
}

func str(t *testing.T, v any, what string) string {
	t.Helper()
	out, ok := v.(string)
	require.True(t, ok, "%s: want a string, got %T", what, v)
	return out
}

func sortedKeys(mm map[string]any) []string {
	keys := make([]string, 0, len(mm))
	for k := range mm {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// githubSteps returns the run scripts of a list of GitHub steps, and checks each step has
// exactly one of run and uses, and a shell when it runs a script.
func githubSteps(t *testing.T, where string, steps []any) []script {
	t.Helper()
	var out []script
	for i, s := range steps {
		step := m(t, s, fmt.Sprintf("%s step %d", where, i))
		run, hasRun := step["run"]
		_, hasUses := step["uses"]
		require.True(t, hasRun != hasUses, "%s step %d: exactly one of run and uses", where, i)
		if !hasRun {
			continue
		}
		name, _ := step["name"].(string)
		require.Equal(t, "bash", step["shell"], "%s step %q: shell: bash (composite actions require a shell)", where, name)
		text := str(t, run, where)
		out = append(out, script{where: where + " / " + name, text: text, shell: "bash", body: text})
	}
	return out
}

func loadGitHubWorkflow(t *testing.T) template {
	raw, doc := parseYAML(t, "github/zdd-release.yml")
	call := m(t, m(t, doc["on"], "on")["workflow_call"], "on.workflow_call")
	m(t, call["inputs"], "workflow_call.inputs")
	m(t, call["secrets"], "workflow_call.secrets")
	jobs := m(t, doc["jobs"], "jobs")
	tpl := template{name: "github/zdd-release.yml", raw: raw, doc: doc}
	for _, name := range sortedKeys(jobs) {
		job := m(t, jobs[name], "job "+name)
		require.NotEmpty(t, job["runs-on"], "job %s: runs-on", name)
		tpl.scripts = append(tpl.scripts, githubSteps(t, name, l(t, job["steps"], name+".steps"))...)
	}
	return tpl
}

func loadGitHubAction(t *testing.T) template {
	raw, doc := parseYAML(t, "github/action.yml")
	require.NotEmpty(t, doc["name"])
	require.NotEmpty(t, doc["description"])
	runs := m(t, doc["runs"], "runs")
	require.Equal(t, "composite", runs["using"])
	return template{name: "github/action.yml", raw: raw, doc: doc,
		scripts: githubSteps(t, "action", l(t, runs["steps"], "runs.steps"))}
}

// gitlabReserved are the top-level keys of .gitlab-ci.yml that are not jobs.
var gitlabReserved = map[string]bool{"stages": true, "variables": true, "include": true, "default": true,
	"workflow": true, "image": true, "services": true, "cache": true, "before_script": true, "after_script": true}

// gitlabJobs returns the jobs with `extends` resolved (GitLab's deep merge of mappings).
func gitlabJobs(t *testing.T, doc map[string]any) map[string]map[string]any {
	jobs := map[string]map[string]any{}
	var resolve func(name string, depth int) map[string]any
	resolve = func(name string, depth int) map[string]any {
		require.Less(t, depth, 10, "extends loop at %s", name)
		job := m(t, doc[name], "job "+name)
		parent, ok := job["extends"].(string)
		if !ok {
			return job
		}
		require.Contains(t, doc, parent, "job %s extends unknown %s", name, parent)
		merged := deepMerge(resolve(parent, depth+1), job)
		delete(merged, "extends")
		return merged
	}
	for _, name := range sortedKeys(doc) {
		if gitlabReserved[name] || strings.HasPrefix(name, ".") {
			continue
		}
		jobs[name] = resolve(name, 0)
	}
	return jobs
}

func deepMerge(base, over map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		bm, ok1 := out[k].(map[string]any)
		om, ok2 := v.(map[string]any)
		if ok1 && ok2 {
			out[k] = deepMerge(bm, om)
		} else {
			out[k] = v
		}
	}
	return out
}

func scriptLines(t *testing.T, v any, what string) string {
	if v == nil {
		return ""
	}
	var lines []string
	for _, x := range l(t, v, what) {
		lines = append(lines, str(t, x, what))
	}
	return strings.Join(lines, "\n")
}

func loadGitLab(t *testing.T) template {
	raw, doc := parseYAML(t, "gitlab/zdd.gitlab-ci.yml")
	tpl := template{name: "gitlab/zdd.gitlab-ci.yml", raw: raw, doc: doc}
	stages := map[string]bool{}
	for _, s := range l(t, doc["stages"], "stages") {
		stages[str(t, s, "stage")] = true
	}
	jobs := gitlabJobs(t, doc)
	require.NotEmpty(t, jobs)
	for _, name := range sortedKeys(anyMap(jobs)) {
		job := jobs[name]
		require.True(t, stages[str(t, job["stage"], name+".stage")], "job %s: stage %v is not in stages", name, job["stage"])
		if needs, ok := job["needs"]; ok {
			for _, n := range l(t, needs, name+".needs") {
				require.Contains(t, jobs, str(t, n, name+".needs"), "job %s needs an unknown job", name)
			}
		}
		require.NotNil(t, job["script"], "job %s: script", name)
		// GitLab runs before_script and script in one shell.
		body := scriptLines(t, job["script"], name+".script")
		text := scriptLines(t, job["before_script"], name+".before_script") + "\n" + body
		tpl.scripts = append(tpl.scripts, script{where: name, text: text, shell: "bash", body: body})
	}
	return tpl
}

func anyMap(jobs map[string]map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range jobs {
		out[k] = v
	}
	return out
}

// jenkinsStage is one stage of a declarative Jenkinsfile with the sh scripts in it.
type jenkinsStage struct {
	name    string
	body    string
	scripts []string
}

var stageRe = regexp.MustCompile(`\bstage\s*\(\s*'([^']+)'\s*\)\s*\{`)

// loadJenkins checks the Jenkinsfile's structure (balanced brackets outside strings and
// comments, pipeline/agent/stages, stages with steps) and extracts every sh script.
func loadJenkins(t *testing.T) (template, []jenkinsStage) {
	raw := readTemplate(t, "jenkins/Jenkinsfile")
	lits, err := groovyScan(raw)
	require.NoError(t, err, "Jenkinsfile")
	code := groovyCode(raw, lits)
	for _, want := range []string{"pipeline {", "agent ", "stages {", "parameters {"} {
		require.Contains(t, code, want)
	}
	tpl := template{name: "jenkins/Jenkinsfile", raw: raw}
	var stages []jenkinsStage
	locs := stageRe.FindAllStringSubmatchIndex(raw, -1)
	require.NotEmpty(t, locs, "no stage('...') in the Jenkinsfile")
	for _, loc := range locs {
		if code[loc[0]] == ' ' {
			continue // in a comment or a string
		}
		open := loc[1] - 1
		closeAt, err := matchBrace(code, open)
		require.NoError(t, err)
		st := jenkinsStage{name: raw[loc[2]:loc[3]], body: code[open : closeAt+1]}
		require.Regexp(t, `\bsteps\s*\{`, st.body, "stage %q has no steps", st.name)
		for _, lit := range lits {
			if lit.start < open || lit.end > closeAt || !lit.sh {
				continue
			}
			require.False(t, lit.interpolating, "stage %q: sh script in a \"...\" string: Groovy would interpolate it (use '''...''')", st.name)
			st.scripts = append(st.scripts, lit.value)
			tpl.scripts = append(tpl.scripts, script{where: st.name, text: lit.value, shell: "sh", body: lit.value})
		}
		stages = append(stages, st)
	}
	return tpl, stages
}

// groovyLit is a string literal of the Jenkinsfile.
type groovyLit struct {
	start, end    int // offsets of the opening and closing quote characters
	value         string
	interpolating bool // a "..." string
	sh            bool // the script of an sh step
}

// groovyScan finds every string literal, skipping comments, and checks brackets balance.
func groovyScan(src string) ([]groovyLit, error) {
	var lits []groovyLit
	var stack []byte
	pairs := map[byte]byte{')': '(', ']': '[', '}': '{'}
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch {
		case strings.HasPrefix(src[i:], "//"):
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case strings.HasPrefix(src[i:], "/*"):
			end := strings.Index(src[i+2:], "*/")
			if end < 0 {
				return nil, fmt.Errorf("unterminated comment at %d", i)
			}
			i += end + 3
		case c == '\'' || c == '"':
			quote := string(c)
			if strings.HasPrefix(src[i:], strings.Repeat(quote, 3)) {
				quote = strings.Repeat(quote, 3)
			}
			j := i + len(quote)
			var b strings.Builder
			for ; ; j++ {
				if j >= len(src) {
					return nil, fmt.Errorf("unterminated string at %d", i)
				}
				if src[j] == '\\' && j+1 < len(src) {
					b.WriteByte(src[j+1]) // \\ \' \" \$ : the escaped character
					j++
					continue
				}
				if strings.HasPrefix(src[j:], quote) {
					break
				}
				if len(quote) == 1 && src[j] == '\n' {
					return nil, fmt.Errorf("newline in a string at %d", i)
				}
				b.WriteByte(src[j])
			}
			before := strings.TrimRight(src[:i], " \t\n")
			lit := groovyLit{start: i, end: j + len(quote) - 1, value: b.String(), interpolating: c == '"'}
			lit.sh = strings.HasSuffix(before, "sh") || strings.HasSuffix(before, "sh(") ||
				(strings.HasSuffix(before, "script:") && strings.Contains(src[strings.LastIndex(src[:i], "\n")+1:i], "sh("))
			lits = append(lits, lit)
			i = lit.end
		case c == '(' || c == '[' || c == '{':
			stack = append(stack, c)
		case c == ')' || c == ']' || c == '}':
			if len(stack) == 0 || stack[len(stack)-1] != pairs[c] {
				return nil, fmt.Errorf("unbalanced %c at line %d", c, strings.Count(src[:i], "\n")+1)
			}
			stack = stack[:len(stack)-1]
		}
	}
	if len(stack) > 0 {
		return nil, fmt.Errorf("%d unclosed brackets", len(stack))
	}
	return lits, nil
}

// groovyCode returns src with every string literal and comment blanked (same length), so
// that brackets can be matched by offset.
func groovyCode(src string, lits []groovyLit) string {
	b := []byte(src)
	for _, lit := range lits {
		for i := lit.start; i <= lit.end; i++ {
			if b[i] != '\n' {
				b[i] = ' '
			}
		}
	}
	return regexp.MustCompile(`(?m)//.*$`).ReplaceAllStringFunc(string(b), func(s string) string {
		return strings.Repeat(" ", len(s))
	})
}

func matchBrace(code string, open int) (int, error) {
	depth := 0
	for i := open; i < len(code); i++ {
		switch code[i] {
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return i, nil
			}
		}
	}
	return 0, fmt.Errorf("unclosed { at %d", open)
}

// loadAll returns every template.
func loadAll(t *testing.T) []template {
	jenkins, _ := loadJenkins(t)
	return []template{loadGitHubWorkflow(t), loadGitHubAction(t), loadGitLab(t), jenkins}
}
