package text

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCleanReplacesInvalidBytesAndNUL(t *testing.T) {
	cases := map[string]string{
		"plain":             "plain",
		"a\x00b":            "a\uFFFDb",
		"caf\xe9":           "caf\uFFFD", // Latin-1 é
		"\xff\xfe":          "\uFFFD",    // one invalid run, one replacement
		"ok ünïcödé":        "ok ünïcödé",
		"":                  "",
		"tab\tnew\nline":    "tab\tnew\nline",
		"mixed\x00\xc3(ok)": "mixed\uFFFD\uFFFD(ok)",
	}
	for in, want := range cases {
		if got := Clean(in); got != want {
			t.Errorf("Clean(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCutKeepsCharactersWhole(t *testing.T) {
	if got := Cut("héllo wörld", 5); got != "héll…" {
		t.Errorf("Cut = %q", got)
	}
	if got := Cut("short", 10); got != "short" {
		t.Errorf("Cut of a short string changed it: %q", got)
	}
	if got := Cut("日本語のテキスト", 3); got != "日本…" || !utf8.ValidString(got) {
		t.Errorf("Cut = %q", got)
	}
	if got := Cut("abc", 0); got != "" {
		t.Errorf("Cut to 0 = %q", got)
	}
}

func TestCutBytesNeverSplitsACharacter(t *testing.T) {
	s := strings.Repeat("€", 100) // 3 bytes each
	for max := 0; max < 40; max++ {
		got := CutBytes(s, max)
		if len(got) > max {
			t.Fatalf("CutBytes(%d) is %d bytes", max, len(got))
		}
		if !utf8.ValidString(got) {
			t.Fatalf("CutBytes(%d) = %q is not valid UTF-8", max, got)
		}
	}
	if got := CutBytes("abcdef", 6); got != "abcdef" {
		t.Errorf("CutBytes of a fitting string = %q", got)
	}
	if got := CutBytes("caf\xe9 au lait", 100); got != "caf\uFFFD au lait" {
		t.Errorf("CutBytes does not clean: %q", got)
	}
}

func TestOneLine(t *testing.T) {
	if got := OneLine("line one\n  line\ttwo\r\n", 100); got != "line one line two" {
		t.Errorf("OneLine = %q", got)
	}
}

func TestCheckNamesTheField(t *testing.T) {
	for _, c := range []struct {
		s        string
		required bool
		want     string
	}{
		{"", true, "title is required"},
		{"a\x00", false, "title contains a NUL byte"},
		{"\xff", false, "title is not valid UTF-8"},
		{"abcdef", false, "title is 6 characters long, at most 5 allowed"},
	} {
		err := Check("title", c.s, 5, c.required)
		if err == nil || err.Error() != c.want {
			t.Errorf("Check(%q) = %v, want %q", c.s, err, c.want)
		}
	}
	if err := Check("title", "ünï", 3, true); err != nil {
		t.Errorf("Check counts bytes, not characters: %v", err)
	}
}

func FuzzCut(f *testing.F) {
	for _, s := range []string{"", "abc", "héllo", "\xff\x00x", strings.Repeat("€", 10)} {
		f.Add(s, 4)
	}
	f.Fuzz(func(t *testing.T, s string, max int) {
		if max < 0 || max > 1000 {
			return
		}
		c := Cut(s, max)
		if !utf8.ValidString(c) || strings.ContainsRune(c, 0) || utf8.RuneCountInString(c) > max {
			t.Fatalf("Cut(%q, %d) = %q", s, max, c)
		}
		b := CutBytes(s, max)
		if !utf8.ValidString(b) || strings.ContainsRune(b, 0) || len(b) > max {
			t.Fatalf("CutBytes(%q, %d) = %q", s, max, b)
		}
	})
}
