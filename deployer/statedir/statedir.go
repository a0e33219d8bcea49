// Package statedir is the one mode policy of zdd's state directory (state.dir) and of every file
// zdd writes in it: the release lease, the journal, the history and the release store.
//
// # Policy
//
// Private, the default: the directory and its subdirectories are 0700 and every file is 0600,
// so only the user that runs zdd reads the journal (which names hosts, commands and errors) or
// replaces a stored WAR. Group-shared (`state.group_shared: true`, for several operators in one
// Unix group on shared storage): directories 0770 and files 0660. The modes are set with chmod
// after creation, so the process umask does not change them.
//
// A state directory that is world-writable, or group-writable while the policy is private, is
// refused by Check: anyone who can write there can forge a lease or replace a WAR that
// `zdd rollback` deploys. Check looks at the directory itself, never at its parents.
package statedir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Modes of the private (default) policy.
const (
	// PrivateDirMode is the mode of the state directory and its subdirectories by default.
	PrivateDirMode fs.FileMode = 0o700
	// PrivateFileMode is the mode of every state file by default.
	PrivateFileMode fs.FileMode = 0o600
	// SharedDirMode is the directories' mode with state.group_shared.
	SharedDirMode fs.FileMode = 0o770
	// SharedFileMode is the files' mode with state.group_shared.
	SharedFileMode fs.FileMode = 0o660
)

// Policy is the mode policy of one state directory. The zero value is the private policy.
type Policy struct {
	// GroupShared selects directories 0770 and files 0660 (state.group_shared).
	GroupShared bool
}

// DirMode is the mode of the state directory and of every directory in it.
func (p Policy) DirMode() fs.FileMode {
	if p.GroupShared {
		return SharedDirMode
	}
	return PrivateDirMode
}

// FileMode is the mode of every file in the state directory.
func (p Policy) FileMode() fs.FileMode {
	if p.GroupShared {
		return SharedFileMode
	}
	return PrivateFileMode
}

// UnsafeError is a state directory whose mode lets others write in it.
type UnsafeError struct {
	// Dir is the directory and Mode its permission bits.
	Dir  string
	Mode fs.FileMode
	// GroupShared is the policy the directory was checked against.
	GroupShared bool
}

// Error says what is wrong, then the hint.
func (e *UnsafeError) Error() string {
	return "state directory " + e.Problem() + "; hint: " + e.Hint()
}

// Problem says what is wrong, without the hint: "<dir> is world-writable (mode 0777): ...".
func (e *UnsafeError) Problem() string {
	who := "world-writable"
	if e.Mode&0o002 == 0 {
		who = "group-writable, and state.group_shared is not set"
	}
	return fmt.Sprintf("%s is %s (mode %04o): another user could forge the release lease or replace a stored WAR",
		e.Dir, who, e.Mode)
}

// Hint is the chmod line that fixes it and, for a group-writable directory under the private
// policy, the setting that allows it instead.
func (e *UnsafeError) Hint() string {
	h := fmt.Sprintf("run `chmod %04o %s`", Policy{GroupShared: e.GroupShared}.DirMode(), e.Dir)
	if !e.GroupShared && e.Mode&0o002 == 0 {
		h += ", or set state.group_shared: true when several operators of the directory's group share it"
	}
	return h
}

// Check returns an *UnsafeError when dir is world-writable, or group-writable under the private
// policy, and nil when it is safe or does not exist yet (it is created with DirMode). A dir that
// is not a directory, or that cannot be examined, is an error too.
func (p Policy) Check(dir string) error {
	info, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	if !info.IsDir() {
		return fmt.Errorf("state directory %s is not a directory", dir)
	}
	m := info.Mode().Perm()
	if m&0o002 != 0 || (m&0o020 != 0 && !p.GroupShared) {
		return &UnsafeError{Dir: dir, Mode: m, GroupShared: p.GroupShared}
	}
	return nil
}

// MkdirAll creates dir and its missing parents inside the state directory with DirMode (set
// with chmod on each directory it created, whatever the umask). Existing directories are left
// as they are.
func (p Policy) MkdirAll(dir string) error {
	if info, err := os.Stat(dir); err == nil {
		if !info.IsDir() {
			return fmt.Errorf("%s is not a directory", dir)
		}
		return nil
	}
	if parent := filepath.Dir(dir); parent != dir {
		if err := p.MkdirAll(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, p.DirMode()); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil // created by another process meanwhile
		}
		return err
	}
	mode := p.DirMode()
	if info, err := os.Stat(dir); err == nil && info.Mode()&fs.ModeSetgid != 0 {
		mode |= fs.ModeSetgid // inherited from a group-shared parent: keep the group
	}
	return os.Chmod(dir, mode)
}

// CreateTemp creates a new temporary file in dir (created with MkdirAll when missing) with
// FileMode, for a write that is renamed into place.
func (p Policy) CreateTemp(dir, pattern string) (*os.File, error) {
	if err := p.MkdirAll(dir); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, err
	}
	if err := f.Chmod(p.FileMode()); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return f, nil
}

// WriteAtomic writes b to path through a temporary file in the same directory, synced and
// renamed, so a reader sees the old content or the new, never a part. The file has FileMode.
func (p Policy) WriteAtomic(path string, b []byte) error {
	tmp, err := p.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(b)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// OpenAppend opens path for appending, creating it (and its directory) with FileMode. An
// existing file keeps its mode.
func (p Policy) OpenAppend(path string) (*os.File, error) {
	if err := p.MkdirAll(filepath.Dir(path)); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, p.FileMode())
	if errors.Is(err, fs.ErrExist) {
		return os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	}
	if err != nil {
		return nil, err
	}
	if err := f.Chmod(p.FileMode()); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
