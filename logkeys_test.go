package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// logLineProblems returns what is wrong with one JSON log line: a key that
// appears twice in the same object (slog writes both, and most log stores keep
// only one), or a duration not logged as seconds under a key ending _seconds.
func logLineProblems(line []byte) []string {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	var problems []string
	var walk func(path string) error
	walk = func(path string) error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return err
				}
				k := kt.(string)
				if seen[k] {
					problems = append(problems, "duplicate key "+path+k)
				}
				seen[k] = true
				if durationKey(k) && !strings.HasSuffix(k, "_seconds") {
					problems = append(problems, "duration key "+path+k+" does not end in _seconds")
				}
				if err := walk(path + k + "."); err != nil {
					return err
				}
			}
			_, err = dec.Token()
			return err
		case json.Delim('['):
			for dec.More() {
				if err := walk(path); err != nil {
					return err
				}
			}
			_, err = dec.Token()
			return err
		}
		return nil
	}
	if err := walk(""); err != nil {
		problems = append(problems, "not JSON: "+err.Error())
	}
	return problems
}

// durationKey reports whether a key names a length of time. "age" must be a
// word of the key of its own (age, max_age): inside a word it is no duration
// (message_id, usage).
func durationKey(k string) bool {
	for _, w := range []string{"elapsed", "timeout", "backoff", "duration", "wait", "delay", "latency"} {
		if strings.Contains(k, w) {
			return true
		}
	}
	for _, w := range strings.FieldsFunc(k, func(r rune) bool { return r == '_' || r == '.' || r == '-' }) {
		if w == "age" {
			return true
		}
	}
	return false
}

// checkLogLines fails t for every log line with a duplicate key or a duration
// not in seconds. The end-to-end harness runs it on everything it captured.
func checkLogLines(t testing.TB, logs []byte) {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(logs))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		if !bytes.HasPrefix(sc.Bytes(), []byte("{")) {
			continue // a child process's plain stderr ("locksmith: …"), not a log record
		}
		for _, p := range logLineProblems(sc.Bytes()) {
			t.Errorf("log line %d: %s: %s", n, p, sc.Text())
		}
	}
}

func TestLogLineProblems(t *testing.T) {
	for line, want := range map[string]string{
		`{"msg":"x","component":"bot","component":"slack"}`: "duplicate key component",
		`{"msg":"x","err":{"a":1,"a":2}}`:                   "duplicate key err.a",
		`{"msg":"x","elapsed":1500000}`:                     "duration key elapsed does not end in _seconds",
		`{"msg":"x","elapsed_seconds":1.5,"component":"a"}`: "",
		`{"msg":"x","max_age":60}`:                          "duration key max_age does not end in _seconds",
		`{"msg":"x","message_id":6}`:                        "",
	} {
		got := fmt.Sprint(logLineProblems([]byte(line)))
		if want == "" && got != "[]" || !strings.Contains(got, want) {
			t.Errorf("%s: problems %s, want %q", line, got, want)
		}
	}
}
