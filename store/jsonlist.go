package store

import (
	"bytes"
	"database/sql/driver"
	"encoding/json"
	"fmt"
)

// JSONList is a list kept in one text column as a JSON array, the same on both databases
// (PostgreSQL arrays would be one dialect only). Empty and nil are both [] in the column and
// in JSON.
type JSONList[T any] []T

// Value stores the list as a JSON array.
func (l JSONList[T]) Value() (driver.Value, error) {
	if len(l) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal([]T(l))
	return string(b), err
}

// Scan reads a JSON array from a text column.
func (l *JSONList[T]) Scan(src any) error {
	var raw []byte
	switch v := src.(type) {
	case nil:
		*l = nil
		return nil
	case string:
		raw = []byte(v)
	case []byte:
		raw = v
	default:
		return fmt.Errorf("JSON list: cannot read %T", src)
	}
	var out []T
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			return fmt.Errorf("JSON list %q: %w", raw, err)
		}
	}
	*l = out
	return nil
}

// MarshalJSON writes [] rather than null for an empty list.
func (l JSONList[T]) MarshalJSON() ([]byte, error) {
	if len(l) == 0 {
		return []byte("[]"), nil
	}
	return json.Marshal([]T(l))
}
