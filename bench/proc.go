package bench

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// clockTicks is the kernel's USER_HZ, the unit of /proc/PID/stat's times:
// 100 on every Linux architecture Go supports.
const clockTicks = 100

// machineSteal returns the CPU time the hypervisor has taken from this
// machine's CPUs (all of them, added) since boot, in seconds: /proc/stat's
// steal column. A virtual machine whose host runs other guests loses its
// CPUs for milliseconds at a time; a call in flight then waits, whatever
// the target, and the latency of the round that saw it says more about
// the host than about the target. 0 where the kernel does not count it.
func machineSteal() (float64, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, fmt.Errorf("the machine's steal time (the harness needs Linux's /proc): %w", err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	// cpu user nice system idle iowait irq softirq steal ...
	if len(f) < 9 || f[0] != "cpu" {
		return 0, nil
	}
	v, err := strconv.ParseUint(f[8], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("/proc/stat: unexpected format")
	}
	return float64(v) / clockTicks, nil
}

// procCPU returns the user plus system CPU time of process pid, in seconds.
func procCPU(pid int) (float64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, fmt.Errorf("CPU time of process %d (the harness needs Linux's /proc): %w", pid, err)
	}
	// The command name (field 2) is in parentheses and may hold spaces:
	// the fields after it start after the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	return float64(ut+st) / clockTicks, nil
}

// procRSS returns the resident set size of process pid, in bytes.
func procRSS(pid int) (int64, error) {
	m, err := procMemory(pid)
	return m.RSS, err
}

// procMem is a process's resident memory, in bytes: all of it, and its
// anonymous and file-backed parts (the latter mostly the pages of the
// binary it runs).
type procMem struct{ RSS, Anon, File int64 }

// procMemory reads process pid's resident memory from /proc/<pid>/status.
func procMemory(pid int) (procMem, error) {
	var m procMem
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return m, fmt.Errorf("memory of process %d: %w", pid, err)
	}
	found := false
	for _, line := range strings.Split(string(b), "\n") {
		key, rest, ok := strings.Cut(line, ":")
		var dst *int64
		switch key {
		case "VmRSS":
			dst = &m.RSS
		case "RssAnon":
			dst = &m.Anon
		case "RssFile":
			dst = &m.File
		}
		if !ok || dst == nil {
			continue
		}
		if f := strings.Fields(rest); len(f) >= 1 {
			if kb, err := strconv.ParseInt(f[0], 10, 64); err == nil {
				*dst = kb << 10
				found = found || key == "VmRSS"
			}
		}
	}
	if !found {
		return m, fmt.Errorf("/proc/%d/status: no VmRSS", pid)
	}
	return m, nil
}
