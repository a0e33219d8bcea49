package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
)

// errCorrupt marks a state file that exists but does not hold valid JSON.
var errCorrupt = errors.New("is corrupt")

// readJSON reads the JSON file at path into v; found is false, with no error, when there is no
// such file. Errors name who reads (journal, lock) and the file; a file that does not parse
// wraps errCorrupt.
func readJSON(path, who string, v any) (found bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("%s: read %s: %w", who, path, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("%s: %s %w: %w", who, path, errCorrupt, err)
	}
	return true, nil
}
