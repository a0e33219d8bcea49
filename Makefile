# Thin aliases for the commands the README shows.
.PHONY: demo test lease-race faults matrix kill-matrix

# Install what is missing, build, start the local cluster and release the sample app 001 then 002.
demo:
	go build -o zdd ./cmd/zdd
	./zdd testenv up --install
	./zdd testenv war --version 001 -o app-001.war
	./zdd testenv war --version 002 -o app-002.war
	./zdd deploy app-001.war
	./zdd deploy app-002.war
	./zdd status

# Every test: unit, fuzz seeds and integration tests against the real local cluster.
test:
	go run ./cmd/zdd testenv up --install --write-config ""
	go vet -tags integration ./...
	go test -count=1 -p 1 -tags integration -timeout 40m ./...
	go run github.com/goreleaser/goreleaser/v2@v2.15.1 check

# The release lease's proof: RACES rounds of 8 processes racing for an expired lease, never two
# holders (the default suite runs the same 1,000). Latest result: docs/lease-race.md.
RACES ?= 1000
lease-race:
	go test -count=1 -run '^TestLeaseRace$$' -v ./deployer/ -args -lease.races=$(RACES)

# Kill a node in rotation at each step of a release, in both load-balancer modes, under load
# (about a minute per case on an idle machine); the table replaces the matrix section of docs/faults.md.
faults:
	go run ./cmd/zdd testenv up --install --write-config ""
	ZDD_FAULTS=1 ZDD_FAULTS_OUT=$(CURDIR)/docs/faults.md go test -count=1 -p 1 -tags integration -timeout 60m -v -run 'TestFaultMatrix|TestNodeInRotationKilled|TestOldestMemberFrozenDuringDeploy' ./deployer/ | tee faults.log | grep -E '^(=== RUN|--- |\s+fault_integration_test.go:[0-9]+: FAULT)'

# The long integration cases CI leaves out (CI runs one representative case of each kind):
# rollback --war after adoption, Ctrl-C after the canary then rollback, rollback after a
# contract migration,
# --hard of a paused release, a canary node killed, SIGKILL at deploy then abort and at gate then
# resume, a node in rotation frozen (SIGSTOP) during the canary. Latest result: docs/matrix.md.
MATRIX = TestAdoptedRollbackWithWAR|TestCtrlCAfterCanaryThenRollback|TestRollbackAfterContractMigrationRefuses|TestRollbackDuringPausedRelease|TestNodeKilledDuringRelease|TestKilledAtDeployThenAbort|TestKilledAtGateThenResume|TestNodeInRotationFrozenDuringCanary
matrix:
	go run ./cmd/zdd testenv up --install --write-config ""
	ZDD_MATRIX=1 go test -count=1 -p 1 -tags integration -timeout 90m -v -run '^($(MATRIX))$$' ./deployer/ | tee matrix.log | grep -E '^(=== RUN|--- |ok|FAIL)'

# SIGKILL `zdd deploy` as each step of a release with migrations starts, then `zdd resume` or
# `zdd abort` at once, under session-keeping load (about a minute per case; 2 per step). The rows
# are merged into the matrix section of docs/killmatrix.md, so KILL_RUN can run a part of it:
# make kill-matrix KILL_RUN='TestKillMatrix/step0[1-6]'.
KILL_RUN ?= TestKillMatrix
kill-matrix:
	go run ./cmd/zdd testenv up --install --write-config ""
	ZDD_KILLMATRIX=1 ZDD_KILLMATRIX_OUT=$(CURDIR)/docs/killmatrix.md go test -count=1 -p 1 -tags integration -timeout 150m -v -run '$(KILL_RUN)' ./deployer/ | tee killmatrix.log | grep -E '^(=== RUN|\s*--- |ok|FAIL)'
