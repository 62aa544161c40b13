package conntrack

import (
	"fmt"
	"os"
	"path/filepath"
)

// SaveFile saves the table (Save) to the file at path, atomically: it
// writes a temporary file in the same directory, syncs it, and renames it
// over path, so a crash mid-save leaves the previous state file whole.
// Errors name the file: "state file PATH: ...".
func (t *Table) SaveFile(path string, now int64) (int, error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return 0, fmt.Errorf("state file %s: %w", path, err)
	}
	tmp := f.Name()
	fail := func(err error) (int, error) {
		f.Close()
		os.Remove(tmp)
		return 0, fmt.Errorf("state file %s: %w", path, err)
	}
	n, err := t.Save(f, now)
	if err != nil {
		return fail(err)
	}
	if err := f.Chmod(0o600); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return 0, fmt.Errorf("state file %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return 0, fmt.Errorf("state file %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // make the rename durable; best effort (not every filesystem syncs directories)
		d.Close()
	}
	return n, nil
}

// RestoreFile restores the table (Restore) from the file at path. Errors
// name the file: "state file PATH: version 3, this hare reads version 1".
// A missing file is an error that satisfies errors.Is(err, fs.ErrNotExist),
// which a daemon starting for the first time can tell apart.
func (t *Table) RestoreFile(path string, now int64) (RestoreStats, error) {
	f, err := os.Open(path)
	if err != nil {
		return RestoreStats{}, fmt.Errorf("state file %s: %w", path, err)
	}
	defer f.Close()
	st, err := t.Restore(f, now)
	if err != nil {
		return st, fmt.Errorf("state file %s: %w", path, err)
	}
	return st, nil
}
