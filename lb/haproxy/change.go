package haproxy

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// Weight limits of "set weight" (absolute values).
const (
	MinWeight = 0
	MaxWeight = 256
)

// SetWeight sets the weight of backend/server and confirms it by reading it
// back. Weight 0 keeps the server up but gives it no new traffic.
func (c *Client) SetWeight(ctx context.Context, backend, server string, weight int) error {
	if err := checkNames(backend, server); err != nil {
		return err
	}
	if weight < MinWeight || weight > MaxWeight {
		return fmt.Errorf("haproxy: set weight %s/%s: %w: weight %d outside %d..%d", backend, server, ErrInvalid, weight, MinWeight, MaxWeight)
	}
	cmd := fmt.Sprintf("set weight %s/%s %d", backend, server, weight)
	if err := c.change(ctx, cmd); err != nil {
		return err
	}
	s, err := c.Server(ctx, backend, server)
	if err != nil {
		return fmt.Errorf("haproxy: %s: read back: %w", cmd, err)
	}
	if s.Weight != weight {
		return fmt.Errorf("haproxy: %s: %w: weight reads %d", cmd, ErrNotConfirmed, s.Weight)
	}
	return nil
}

// Admin is a target of "set server ... state".
type Admin string

// Admin targets.
const (
	// Ready puts the server back into load balancing.
	Ready Admin = "ready"
	// Drain stops new (non-persistent) traffic; checks go on.
	Drain Admin = "drain"
	// Maint stops all traffic and checks. Existing connections survive.
	Maint Admin = "maint"
)

// SetState sets backend/server to ready, drain or maint and confirms it by
// reading the forced admin bits back.
func (c *Client) SetState(ctx context.Context, backend, server string, state Admin) error {
	if err := checkNames(backend, server); err != nil {
		return err
	}
	if state != Ready && state != Drain && state != Maint {
		return fmt.Errorf("haproxy: set server %s/%s state: %w: %q (want ready, drain or maint)", backend, server, ErrInvalid, state)
	}
	cmd := fmt.Sprintf("set server %s/%s state %s", backend, server, state)
	if err := c.change(ctx, cmd); err != nil {
		return err
	}
	s, err := c.Server(ctx, backend, server)
	if err != nil {
		return fmt.Errorf("haproxy: %s: read back: %w", cmd, err)
	}
	fm, fd := s.Admin&ForcedMaint != 0, s.Admin&ForcedDrain != 0
	ok := map[Admin]bool{Ready: !fm && !fd, Drain: fd && !fm, Maint: fm}[state]
	if !ok {
		return fmt.Errorf("haproxy: %s: %w: admin state reads %s", cmd, ErrNotConfirmed, s.Admin)
	}
	return nil
}

// change sends a changing command; HAProxy answers nothing on success.
func (c *Client) change(ctx context.Context, cmd string) error {
	reply, err := c.Command(ctx, cmd)
	if err != nil {
		return err
	}
	return replyErr(cmd, reply)
}

// ActiveServer names the server of backend that takes new traffic now: the
// first usable non-backup server, else the first usable backup (HAProxy
// uses one backup at a time unless "option allbackups"). Usable means UP
// (including "UP n/m" going down, and "no check"), not in maintenance or
// drain. More than one usable non-backup server is an error: a MySQL
// backend must have one master.
func (c *Client) ActiveServer(ctx context.Context, backend string) (string, error) {
	stats, err := c.Stats(ctx, backend)
	if err != nil {
		return "", err
	}
	return activeOf(backend, stats)
}

func activeOf(backend string, stats []ServerStat) (string, error) {
	var primaries, backups []string
	var seen []string
	for _, s := range stats {
		seen = append(seen, s.Name+"="+s.Status)
		if !usable(s) {
			continue
		}
		if s.Backup {
			backups = append(backups, s.Name)
		} else {
			primaries = append(primaries, s.Name)
		}
	}
	switch {
	case len(primaries) == 1:
		return primaries[0], nil
	case len(primaries) > 1:
		return "", fmt.Errorf("haproxy: active server of %s: %d active primaries (%s): expected one master",
			backend, len(primaries), strings.Join(primaries, ", "))
	case len(backups) > 0:
		return backups[0], nil
	}
	return "", fmt.Errorf("haproxy: active server of %s: %w (%s)", backend, ErrNoActive, strings.Join(seen, ", "))
}

func usable(s ServerStat) bool {
	if s.Weight == 0 {
		return false
	}
	return s.Status == "UP" || strings.HasPrefix(s.Status, "UP ") || s.Status == "no check"
}

// String renders a state for logs: "db1 running ready weight=100/100".
func (s ServerState) String() string {
	return s.Name + " " + s.Op.String() + " " + s.Admin.String() + " weight=" + strconv.Itoa(s.Weight) + "/" + strconv.Itoa(s.InitWeight)
}
