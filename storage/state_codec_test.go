package storage

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// jsonState is what the store wrote before encodeState, and what it reads
// when the fast path gives up.
func jsonState(st State, w string) []byte {
	b, err := json.Marshal(struct {
		State
		W string `json:"w"`
	}{st, w})
	if err != nil {
		panic(err)
	}
	return b
}

// stateOf makes a State of a fuzzer's string: fields split at '|', the
// data's pairs and the history's entries at ';'.
func stateOf(s string, v int64) State {
	parts := strings.SplitN(s, "|", 4)
	for len(parts) < 4 {
		parts = append(parts, "")
	}
	st := State{Flow: parts[0], Step: parts[1], Version: v}
	if parts[2] != "" {
		st.Data = map[string]string{}
		for _, kv := range strings.Split(parts[2], ";") {
			k, val, _ := strings.Cut(kv, "=")
			st.Data[k] = val
		}
	}
	if parts[3] != "" {
		st.History = strings.Split(parts[3], ";")
	}
	return st
}

// FuzzStateCodec: encodeState writes what encoding/json writes, byte for
// byte, and decodeStateInto reads whatever bytes as json.Unmarshal reads
// them (the same State, an error for the same input): the fuzzer's own
// bytes, a state as stored, and a stored state with one change (a byte
// overwritten, inserted or deleted, a stretch repeated) — nearly the
// shape the fast path reads.
func FuzzStateCodec(f *testing.F) {
	for i, s := range []string{
		"mediation|description|kind=family;lang=ru;description=Көршіммен шарбақ туралы|kind;place",
		"dir|where|kind=house|",
		"||",
		"help|confirm|not_sent=12,15;phone=+77011234567|a;b;c",
		"x|y|<a>=&\"\\\x01\u2028\xff|\n",
		"x|y|a=b;a=c|c",
		`{"flow":"dir","step":"where","data":{"kind":"house"},"v":3,"w":"a1"}`,
		`{"FLOW":"dir","v":1}`, `{"v":1,"v":2}`, `{"data":{"a":"1"},"data":{"b":"2"},"v":0}`,
		`{"history":[],"data":{},"v":-0,"w":""}`, `{"v":01}`, `{"v":1e3}`, `{"flow":null,"v":1}`, ` {"v":1}`,
	} {
		f.Add(s, int64(7), uint16(3*i), byte(`F "{,:]0-`[i%9]), uint8(i))
	}
	f.Fuzz(func(t *testing.T, s string, v int64, pos uint16, c byte, op uint8) {
		st := stateOf(s, v)
		if got, want := encodeState(st, "tok"), jsonState(st, "tok"); string(got) != string(want) {
			t.Fatalf("encodeState(%#v):\n got %s\nwant %s", st, got, want)
		}
		changed := jsonState(st, "tok")
		p := int(pos) % (len(changed) + 1)
		switch op % 4 {
		case 0:
			if p < len(changed) {
				changed[p] = c
			}
		case 1:
			changed = append(changed[:p:p], append([]byte{c}, changed[p:]...)...)
		case 2:
			if p < len(changed) {
				changed = append(changed[:p:p], changed[p+1:]...)
			}
		case 3:
			q := int(c) % (len(changed) + 1)
			if p > q {
				p, q = q, p
			}
			changed = append(append(changed[:q:q], changed[p:q]...), changed[q:]...)
		}
		for _, buf := range [][]byte{[]byte(s), jsonState(st, "tok"), changed} {
			var got, want State
			gotErr, wantErr := decodeStateInto(buf, &got), json.Unmarshal(buf, &want)
			if (gotErr == nil) != (wantErr == nil) || !reflect.DeepEqual(got, want) {
				t.Fatalf("decode %q:\n got %#v, %v\nwant %#v, %v", buf, got, gotErr, want, wantErr)
			}
		}
	})
}

// A mediation request's state at its summary, the largest the script of
// the load test keeps: encoded and decoded by hand and by encoding/json.
func BenchmarkStateCodec(b *testing.B) {
	st := State{Flow: "mediation", Step: "confirm", Version: 12, History: []string{"consent", "kind", "description", "where", "lang", "contact"},
		Data: map[string]string{"kind": "family", "description": "Көршіммен шарбақ туралы дауласып жүрміз, case 10.",
			"region": "astana", "place": "Астана", "lang": "ru", "phone": "", "consent": "1"}}
	buf := encodeState(st, "a1b2c3")
	b.Run("encodeState", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			encodeState(st, "a1b2c3")
		}
	})
	b.Run("json.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			jsonState(st, "a1b2c3")
		}
	})
	b.Run("decodeStateInto", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var s State
			decodeStateInto(buf, &s)
		}
	})
	b.Run("json.Unmarshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var s State
			json.Unmarshal(buf, &s)
		}
	})
}
