package raftstore

import (
	"runtime"
	"strings"
)

// raftGoroutines describes, one line each, the goroutines running
// hashicorp/raft's code (its transport and log store included): after a
// shutdown, what did not stop.
func raftGoroutines() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "github.com/hashicorp/raft") {
			out = append(out, goroutineSummary(g))
		}
	}
	return out
}

// goroutineSummary shortens one goroutine of a runtime.Stack dump to its
// header and innermost frames: "goroutine 7 [chan send, 2 minutes]:
// raft.(*netPipeline).AppendEntries < raft.(*Raft).pipelineSend < …".
func goroutineSummary(g string) string {
	lines := strings.Split(strings.TrimSpace(g), "\n")
	var frames []string
	for i := 1; i < len(lines) && len(frames) < 5; i += 2 {
		fn := lines[i]
		if strings.HasPrefix(fn, "created by ") {
			break
		}
		if j := strings.LastIndex(fn, "("); j > 0 {
			fn = fn[:j]
		}
		if j := strings.LastIndex(fn, "/"); j >= 0 {
			fn = fn[j+1:]
		}
		if strings.HasPrefix(fn, "runtime.") || strings.HasPrefix(fn, "internal/") || strings.HasPrefix(fn, "poll.") {
			continue
		}
		frames = append(frames, fn)
	}
	return lines[0] + " " + strings.Join(frames, " < ")
}
