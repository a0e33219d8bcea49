# Thin aliases for the commands the README shows.
.PHONY: demo test lease-race

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
