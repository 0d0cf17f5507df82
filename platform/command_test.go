package platform

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func mustCommand(t *testing.T, typ string, ver int, id string, payload any) *Command {
	t.Helper()
	c, err := NewCommand(typ, ver, id, Actor{Kind: ActorCLI, ID: "test"}, time.UnixMilli(1764210000000), payload)
	if err != nil {
		t.Fatalf("NewCommand: %v", err)
	}
	return c
}

func mustEncode(t *testing.T, c *Command) []byte {
	t.Helper()
	b, err := c.Encode()
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	return b
}

func TestDecodeCommand(t *testing.T) {
	valid := mustEncode(t, mustCommand(t, CmdSettingSet, 1, "cmd-00000001", SettingSet{Key: "a.b", Value: "v"}))
	replace := func(old, new string) []byte { return []byte(strings.Replace(string(valid), old, new, 1)) }
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"valid", valid, nil},
		{"empty", nil, ErrBadCommand},
		{"not json", []byte("\x00\x01"), ErrBadCommand},
		{"trailing data", append(append([]byte{}, valid...), []byte(` {}`)...), ErrBadCommand},
		{"unknown envelope field", replace(`"v":1`, `"v":1,"x":2`), ErrBadCommand},
		{"envelope version 2", replace(`"v":1`, `"v":2`), ErrCommandVersion},
		{"envelope version 0", replace(`"v":1`, `"v":0`), ErrCommandVersion},
		{"unknown type", replace(`"setting.set"`, `"setting.nope"`), ErrUnknownCommand},
		{"bad type", replace(`"setting.set"`, `"Setting"`), ErrBadCommand},
		{"unknown type version", replace(`"tv":1`, `"tv":9`), ErrCommandVersion},
		{"short id", replace(`"cmd-00000001"`, `"x"`), ErrBadCommand},
		{"no time", replace(`"at":1764210000000`, `"at":0`), ErrBadCommand},
		{"no actor kind", replace(`"kind":"cli"`, `"kind":""`), ErrBadCommand},
		{"unknown payload field", replace(`"value":"v"`, `"value":"v","extra":1`), ErrBadCommand},
		{"invalid payload", replace(`"key":"a.b"`, `"key":"A B"`), ErrBadCommand},
		{"payload not an object", replace(`{"key":"a.b","value":"v"}`, `[1]`), ErrBadCommand},
		{"too large", make([]byte, MaxCommandSize+1), ErrCommandTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := DecodeCommand(tt.in)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("DecodeCommand: %v", err)
				}
				if c.Type != CmdSettingSet || c.ID != "cmd-00000001" || c.Time().UnixMilli() != 1764210000000 {
					t.Fatalf("decoded %+v", c)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestNewCommandRejectsInvalidPayload(t *testing.T) {
	_, err := NewCommand(CmdSettingSet, 1, "", Actor{Kind: ActorCLI}, time.Now(), SettingSet{Key: ""})
	var ce *CommandError
	if !errors.As(err, &ce) || ce.Field != "key" {
		t.Fatalf("err = %v, want a CommandError naming key", err)
	}
}

func TestCommandTypesListed(t *testing.T) {
	got := strings.Join(CommandTypes(), " ")
	for _, want := range []string{"setting.set/1", "platform_key.create/1"} {
		if !strings.Contains(got, want) {
			t.Errorf("CommandTypes() = %s, missing %s", got, want)
		}
	}
}

func FuzzDecodeCommand(f *testing.F) {
	c, _ := NewCommand(CmdSettingSet, 1, "cmd-00000001", Actor{Kind: ActorCLI}, time.UnixMilli(1), SettingSet{Key: "k", Value: "v"})
	b, _ := c.Encode()
	f.Add(b)
	f.Add([]byte(`{"v":1,"type":"platform_key.create","tv":1,"id":"12345678","at":1,"actor":{"kind":"x","id":""},"payload":{"serial":"s","use":"sig"}}`))
	f.Add([]byte(`{"v":2}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := DecodeCommand(data)
		if err != nil {
			if c != nil {
				t.Fatal("command returned with an error")
			}
			return
		}
		// Whatever decodes must re-encode and decode to the same command.
		b, err := c.Encode()
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		c2, err := DecodeCommand(b)
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		j1, _ := json.Marshal(c)
		j2, _ := json.Marshal(c2)
		if string(j1) != string(j2) {
			t.Fatalf("round trip changed the command:\n%s\n%s", j1, j2)
		}
	})
}

func TestNewID(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		id := NewID("apl")
		if len(id) != 24 || !strings.HasPrefix(id, "apl_") || strings.ToLower(id) != id || seen[id] {
			t.Fatalf("bad or repeated id %q", id)
		}
		seen[id] = true
	}
}
