package platform

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// CmdSettingSet sets one replicated platform setting.
const CmdSettingSet = "setting.set"

// SettingSet is the payload of CmdSettingSet (version 1).
type SettingSet struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

var settingKeyPattern = regexp.MustCompile(`^[a-z][a-z0-9_.-]{0,63}$`)

// Validate checks the key's form and the value's size.
func (p *SettingSet) Validate() error {
	if !settingKeyPattern.MatchString(p.Key) {
		return Invalid("key", "must be 1-64 characters of a-z, 0-9, '.', '_', '-', starting with a letter")
	}
	if strings.HasPrefix(p.Key, "controls.") {
		return Invalid("key", "controls are set with their own commands (control.pause, limits.set …)")
	}
	if len(p.Value) > 64<<10 || !utf8.ValidString(p.Value) {
		return Invalid("value", "must be valid UTF-8 of at most 64 KiB")
	}
	return nil
}

func init() {
	Handle(CmdSettingSet, 1, PartSettings, func(tx *Tx, c *Command, p *SettingSet) (any, error) {
		_, err := tx.Exec(`INSERT INTO settings (key, value, updated_ms) VALUES (?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_ms = excluded.updated_ms`, p.Key, p.Value, c.At)
		return nil, err
	})
}
