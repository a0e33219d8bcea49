// Package pipelinecheck holds only tests: they parse every CI template in pipelines/ (GitHub
// Actions, GitLab CI, Jenkins), extract each `zdd ...` invocation from their shell scripts and
// check it against the real command tree (root.NewCmdRoot), and run the scripts with a fake zdd
// to pin how each template treats zdd's exit codes and unset variables.
package pipelinecheck
