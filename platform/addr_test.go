package platform

import "testing"

func TestCheckAddr(t *testing.T) {
	tests := []struct {
		addr      string
		reachable bool
		ok        bool
	}{
		{"[::]:8443", false, true},
		{":0", false, true},
		{"127.0.0.1:7000", true, true},
		{"[::1]:7000", true, true},
		{"node-1.example.com:7000", true, true},
		{"[::]:7000", true, false},
		{"0.0.0.0:7000", true, false},
		{":7000", true, false},
		{"127.0.0.1:0", true, false},
		{"127.0.0.1", false, false},
		{"::1:7000", false, false},
		{"127.0.0.1:65536", false, false},
		{"bad_host:1", false, false},
	}
	for _, tc := range tests {
		if err := CheckAddr(tc.addr, tc.reachable); (err == nil) != tc.ok {
			t.Errorf("CheckAddr(%q, %v) = %v, want ok %v", tc.addr, tc.reachable, err, tc.ok)
		}
	}
}

func TestIsLoopbackHost(t *testing.T) {
	for host, want := range map[string]bool{"localhost": true, "127.0.0.1": true, "127.9.9.9": true, "::1": true, "10.0.0.1": false, "example.com": false, "": false} {
		if got := IsLoopbackHost(host); got != want {
			t.Errorf("IsLoopbackHost(%q) = %v", host, got)
		}
	}
}
