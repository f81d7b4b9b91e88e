package agent

import (
	"fmt"
	"io/fs"
	"path"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/edgenas/edgenas/devices/local"
	"github.com/edgenas/edgenas/transformer"
)

// Info describes the device an agent measures on (GET /v1/info). The
// frequencies, governors and temperatures are those readable from sysfs
// when asked; the Fingerprint leaves out what changes from one moment to
// the next (current frequencies, temperatures), so it is stable.
type Info struct {
	// Fingerprint identifies the hardware and engine the measurements
	// come from: the local device's fingerprint, the CPU governors and
	// maximum frequencies, and the edgenas version.
	Fingerprint string `json:"fingerprint"`
	// CPUModel is the CPU's name from /proc/cpuinfo ("unknown CPU").
	CPUModel string `json:"cpu_model"`
	// Cores is the number of logical CPUs.
	Cores int `json:"cores"`
	// OS and Arch are the agent's GOOS and GOARCH.
	OS   string `json:"os"`
	Arch string `json:"arch"`
	// Kernels are the vector extensions the engine's kernels use
	// ("avx2+fma", "asimd", "generic").
	Kernels string `json:"kernels"`
	// Engine is transformer.EngineVersion.
	Engine string `json:"engine"`
	// Version is the edgenas version of the agent.
	Version string `json:"version"`
	// CPUs holds each CPU's frequency scaling, where readable.
	CPUs []CPUFreq `json:"cpus,omitempty"`
	// Thermal holds each thermal zone's temperature, where readable.
	Thermal []ThermalZone `json:"thermal,omitempty"`
}

// CPUFreq is one CPU's frequency scaling as sysfs shows it; a field that
// cannot be read is zero or empty.
type CPUFreq struct {
	CPU      int    `json:"cpu"`
	CurKHz   int64  `json:"cur_khz,omitempty"`
	MaxKHz   int64  `json:"max_khz,omitempty"`
	Governor string `json:"governor,omitempty"`
}

// ThermalZone is one thermal zone's temperature.
type ThermalZone struct {
	Zone       string  `json:"zone"`
	Type       string  `json:"type,omitempty"`
	CelsiusMil int64   `json:"millicelsius"`
	Celsius    float64 `json:"celsius"`
}

// sysfsLimit bounds one sysfs or procfs value read for Info.
const sysfsLimit = 4096

// readInfo gathers Info from the machine: sys is the root of the file
// system sysfs is read from (os.DirFS("/") outside tests), localFP the
// local device's fingerprint, version the edgenas version.
func readInfo(sys fs.FS, localFP, version string) Info {
	in := Info{
		CPUModel: local.CPUModel(), Cores: runtime.NumCPU(), OS: runtime.GOOS, Arch: runtime.GOARCH,
		Kernels: local.Features(), Engine: transformer.EngineVersion, Version: version,
		CPUs: readCPUFreqs(sys), Thermal: readThermal(sys),
	}
	in.Fingerprint = fingerprint(localFP, in.CPUs, version)
	return in
}

// fingerprint is the stable part of Info: the local device's fingerprint,
// the distinct governors and maximum frequencies, the edgenas version.
func fingerprint(localFP string, cpus []CPUFreq, version string) string {
	var govs, maxes []string
	for _, c := range cpus {
		if c.Governor != "" && !slices.Contains(govs, c.Governor) {
			govs = append(govs, c.Governor)
		}
		if m := c.MaxKHz; m > 0 {
			s := strconv.FormatInt(m/1000, 10) + " MHz"
			if !slices.Contains(maxes, s) {
				maxes = append(maxes, s)
			}
		}
	}
	fp := "agent " + localFP
	if len(govs) > 0 {
		fp += ", governor " + strings.Join(govs, "/")
	}
	if len(maxes) > 0 {
		fp += ", max " + strings.Join(maxes, "/")
	}
	return fp + ", edgenas " + version
}

// readCPUFreqs reads devices/system/cpu/cpuN/cpufreq of sys, in CPU order.
func readCPUFreqs(sys fs.FS) []CPUFreq {
	dirs, _ := fs.Glob(sys, "sys/devices/system/cpu/cpu[0-9]*/cpufreq")
	var out []CPUFreq
	for _, d := range dirs {
		n, err := strconv.Atoi(strings.TrimPrefix(path.Base(path.Dir(d)), "cpu"))
		if err != nil {
			continue
		}
		c := CPUFreq{CPU: n, CurKHz: readInt(sys, d+"/scaling_cur_freq"), MaxKHz: readInt(sys, d+"/cpuinfo_max_freq"), Governor: readWord(sys, d+"/scaling_governor")}
		if c.CurKHz != 0 || c.MaxKHz != 0 || c.Governor != "" {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b CPUFreq) int { return a.CPU - b.CPU })
	return out
}

// readThermal reads class/thermal/thermal_zoneN of sys.
func readThermal(sys fs.FS) []ThermalZone {
	dirs, _ := fs.Glob(sys, "sys/class/thermal/thermal_zone[0-9]*")
	var out []ThermalZone
	for _, d := range dirs {
		raw := readWord(sys, d+"/temp")
		mc, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			continue
		}
		out = append(out, ThermalZone{Zone: path.Base(d), Type: readWord(sys, d+"/type"), CelsiusMil: mc, Celsius: float64(mc) / 1000})
	}
	return out
}

// readWord reads a small sysfs value, trimmed; "" when it cannot be read.
func readWord(sys fs.FS, name string) string {
	f, err := sys.Open(name)
	if err != nil {
		return ""
	}
	defer f.Close()
	buf := make([]byte, sysfsLimit)
	n, _ := f.Read(buf)
	return strings.TrimSpace(string(buf[:n]))
}

// readInt reads a small sysfs integer; 0 when it cannot be read or parsed.
func readInt(sys fs.FS, name string) int64 {
	v, err := strconv.ParseInt(readWord(sys, name), 10, 64)
	if err != nil {
		return 0
	}
	return v
}

// String summarizes in for a person: fingerprint and current state.
func (in Info) String() string {
	s := fmt.Sprintf("%s (%s/%s, %d cores, kernels %s, %s, edgenas %s)", in.CPUModel, in.OS, in.Arch, in.Cores, in.Kernels, in.Engine, in.Version)
	for _, t := range in.Thermal {
		s += fmt.Sprintf(", %s %.1f°C", t.Zone, t.Celsius)
	}
	return s
}
