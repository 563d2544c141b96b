package loadgen

import (
	"strings"
	"testing"
)

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		bad  bool
	}{
		{in: "0", want: 0},
		{in: "65536", want: 65536},
		{in: "64k", want: 64 << 10},
		{in: "64KiB", want: 64 << 10},
		{in: "1MB", want: 1 << 20},
		{in: "1m", want: 1 << 20},
		{in: "2GiB", want: 2 << 30},
		{in: "512b", want: 512},
		{in: "", bad: true},
		{in: "k", bad: true},
		{in: "-1", bad: true},
		{in: "+5", bad: true},
		{in: "1.5M", bad: true},
		{in: "9999999999999G", bad: true},
	} {
		got, err := ParseSize(tc.in)
		if tc.bad != (err != nil) || got != tc.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, bad=%v", tc.in, got, err, tc.want, tc.bad)
		}
	}
}

func TestParseModes(t *testing.T) {
	got, err := ParseModes("pasv, PORT,epsv,eprt")
	if err != nil || len(got) != 4 || got[1] != ModePORT {
		t.Fatalf("ParseModes = %v, %v", got, err)
	}
	if _, err := ParseModes("pasv,active"); err == nil || !strings.Contains(err.Error(), `"active"`) {
		t.Fatalf("ParseModes(active) error %v should name the bad mode", err)
	}
}

func TestParseTarget(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    Target
		wantErr string
	}{
		{in: "ftp://u:secret@127.0.0.1:2121/1k.bin", want: Target{Addr: "127.0.0.1:2121", User: "u", Password: "secret", Path: "/1k.bin"}},
		{in: "ftp://example.org/pub/f", want: Target{Addr: "example.org:21", User: "anonymous", Password: "ftpbench@", Path: "/pub/f"}},
		{in: "ftp://[::1]:21/f", want: Target{Addr: "[::1]:21", User: "anonymous", Password: "ftpbench@", Path: "/f"}},
		{in: "http://h/f", wantErr: "scheme"},
		{in: "ftp:///f", wantErr: "no host"},
		{in: "ftp://h:99999/f", wantErr: "port"},
		{in: "ftp://h/", wantErr: "no file path"},
		{in: "ftp://u:pw@h/f?x=1", wantErr: "query"},
		{in: "ftp://u:se cret@h:bad/f", wantErr: "bad URL"},
	} {
		got, err := ParseTarget(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseTarget(%q) error %v, want one containing %q", tc.in, err, tc.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "cret") {
				t.Errorf("ParseTarget(%q) error %q leaks the password", tc.in, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseTarget(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	tg, _ := ParseTarget("ftp://u:secret@h/f")
	if s := tg.String(); strings.Contains(s, "secret") || s != "ftp://u@h:21/f" {
		t.Errorf("Target.String() = %q, want the password removed", s)
	}
}

func TestExpandPath(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/f.bin", "/f.bin"},
		{"/upload/u{user}-{seq}.bin", "/upload/u3-42.bin"},
		{"/{seq}/{seq}", "/42/42"},
		{"/{other}", "/{other}"},
	} {
		if got := expandPath(tc.in, 3, 42); got != tc.want {
			t.Errorf("expandPath(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
