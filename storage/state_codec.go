package storage

import (
	"encoding/json"
	"slices"
	"strconv"
	"unicode/utf8"
)

// A conversation's state is encoded and decoded once or twice for every
// update (read at its start, written after a step); encoding/json's
// reflection for it was 4 % of the bot's CPU under load
// (docs/BENCHMARKS.md, seventh round). encodeState and decodeStateInto
// write and read the shape the store writes themselves and give anything
// else to encoding/json, with the same result (FuzzStateCodec).

// encodeState is json.Marshal(struct{State; W string `json:"w"`}{st, w}),
// byte for byte.
func encodeState(st State, w string) []byte {
	n := 32 + len(st.Flow) + len(st.Step) + len(w)
	for k, v := range st.Data {
		n += len(k) + len(v) + 6
	}
	for _, h := range st.History {
		n += len(h) + 3
	}
	b := make([]byte, 0, n)
	b = append(b, '{')
	if st.Flow != "" {
		b = appendJSONString(append(b, `"flow":`...), st.Flow)
		b = append(b, ',')
	}
	if st.Step != "" {
		b = appendJSONString(append(b, `"step":`...), st.Step)
		b = append(b, ',')
	}
	if len(st.Data) > 0 {
		keys := make([]string, 0, len(st.Data))
		for k := range st.Data {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, `"data":{`...)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
			b = appendJSONString(append(b, ':'), st.Data[k])
		}
		b = append(b, "},"...)
	}
	if len(st.History) > 0 {
		b = append(b, `"history":[`...)
		for i, h := range st.History {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, h)
		}
		b = append(b, "],"...)
	}
	b = strconv.AppendInt(append(b, `"v":`...), st.Version, 10)
	b = appendJSONString(append(b, `,"w":`...), w)
	return append(b, '}')
}

// appendJSONString appends s as encoding/json writes a string: as it is
// when nothing in it needs escaping, else by encoding/json itself.
func appendJSONString(b []byte, s string) []byte {
	if !plainJSON(s) {
		q, _ := json.Marshal(s) // a string always encodes
		return append(b, q...)
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// plainJSON tells whether s is valid UTF-8 that encoding/json writes
// unchanged between quotes: no control character, quote, backslash,
// HTML's < > &, or U+2028/U+2029.
func plainJSON(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r == '\u2028' || r == '\u2029' {
			return false
		}
		i += size
	}
	return true
}

// decodeStateInto is json.Unmarshal(buf, st) for st a zero State.
func decodeStateInto(buf []byte, st *State) error {
	if d := (stateDecoder{b: buf}); d.state(st) {
		return nil
	}
	*st = State{}
	return json.Unmarshal(buf, st)
}

// stateDecoder reads the shape encodeState writes — its keys, each once,
// in any order, strings without escapes, no spaces — and gives up on
// anything else.
type stateDecoder struct {
	b []byte
	i int
}

// stateKeys are the keys encodeState writes, in its order.
var stateKeys = [...]string{"flow", "step", "data", "history", "v", "w"}

func (d *stateDecoder) state(st *State) bool {
	var seen [len(stateKeys)]bool
	return d.list('{', '}', func() bool {
		key, ok := d.str()
		if !ok || !d.byte(':') {
			return false
		}
		field := slices.Index(stateKeys[:], key)
		if field < 0 || seen[field] {
			return false // another key, in another case, twice: encoding/json's to judge
		}
		seen[field] = true
		switch stateKeys[field] {
		case "flow":
			st.Flow, ok = d.str()
		case "step":
			st.Step, ok = d.str()
		case "data":
			st.Data = map[string]string{}
			ok = d.list('{', '}', func() bool {
				k, ok := d.str()
				if !ok || !d.byte(':') {
					return false
				}
				v, ok := d.str()
				st.Data[k] = v
				return ok
			})
		case "history":
			st.History = []string{}
			ok = d.list('[', ']', func() bool {
				h, ok := d.str()
				st.History = append(st.History, h)
				return ok
			})
		case "v":
			st.Version, ok = d.int()
		case "w":
			_, ok = d.str()
		}
		return ok
	}) && d.i == len(d.b)
}

// list reads open, items separated by commas (each read by item), close.
func (d *stateDecoder) list(open, close byte, item func() bool) bool {
	if !d.byte(open) {
		return false
	}
	for first := true; ; first = false {
		if d.byte(close) {
			return true
		}
		if !first && !d.byte(',') || !item() {
			return false
		}
	}
}

func (d *stateDecoder) byte(c byte) bool {
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// str reads a string without escapes, of valid UTF-8.
func (d *stateDecoder) str() (string, bool) {
	if !d.byte('"') {
		return "", false
	}
	start := d.i
	for ; d.i < len(d.b); d.i++ {
		switch c := d.b[d.i]; {
		case c == '"':
			s := d.b[start:d.i]
			d.i++
			return string(s), utf8.Valid(s)
		case c == '\\' || c < 0x20:
			return "", false
		}
	}
	return "", false
}

// int reads a whole number of up to 18 digits, as encodeState writes it.
func (d *stateDecoder) int() (int64, bool) {
	start := d.i
	d.byte('-')
	digits := d.i
	for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
		d.i++
	}
	n := d.i - digits
	if n == 0 || n > 18 || n > 1 && d.b[digits] == '0' {
		return 0, false
	}
	v, err := strconv.ParseInt(string(d.b[start:d.i]), 10, 64)
	return v, err == nil
}
