package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/BurntSushi/toml"
	"gopkg.in/yaml.v3"
)

// A setting is one node setting: a flag --NAME, an environment variable
// NATTER_NAME and a config file key NAME.
type setting struct {
	name    string
	arg     string // the value's placeholder in --help ("ADDR"); "" for a bool
	group   string
	help    string
	defText string // the default as --help shows it
	list    bool   // a list: comma-separated, or a list in the file
	value   flag.Value
}

// defaultText overrides how --help and the docs show the default.
func (s *setting) defaultText(t string) *setting {
	s.defText = t
	return s
}

// envName is the setting's environment variable.
func (s *setting) envName() string { return envName(s.name) }

func envName(flagName string) string {
	return "NATTER_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// settings is the ordered set of a command's settings.
type settings struct {
	all    []*setting
	byName map[string]*setting
}

func newSettings() *settings { return &settings{byName: map[string]*setting{}} }

func (s *settings) add(st *setting) *setting {
	if s.byName[st.name] != nil {
		panic("natter: setting " + st.name + " defined twice")
	}
	s.all = append(s.all, st)
	s.byName[st.name] = st
	return st
}

func (s *settings) str(p *string, name, arg, def, group, help string) *setting {
	*p = def
	t := strconv.Quote(def)
	if def == "" {
		t = `""`
	}
	return s.add(&setting{name: name, arg: arg, group: group, help: help, defText: t, value: (*stringValue)(p)})
}

func (s *settings) list(p *string, name, arg, group, help string) *setting {
	*p = ""
	return s.add(&setting{name: name, arg: arg, group: group, help: help, defText: "none", list: true, value: (*stringValue)(p)})
}

func (s *settings) boolv(p *bool, name string, def bool, group, help string) *setting {
	*p = def
	return s.add(&setting{name: name, group: group, help: help, defText: strconv.FormatBool(def), value: (*boolValue)(p)})
}

func (s *settings) intv(p *int, name, arg string, def int, group, help string) *setting {
	*p = def
	return s.add(&setting{name: name, arg: arg, group: group, help: help, defText: strconv.Itoa(def), value: (*intValue)(p)})
}

func (s *settings) int64v(p *int64, name string, def int64, group, help string) *setting {
	*p = def
	return s.add(&setting{name: name, arg: "N", group: group, help: help, defText: strconv.FormatInt(def, 10), value: (*int64Value)(p)})
}

func (s *settings) float(p *float64, name, arg string, def float64, group, help string) *setting {
	*p = def
	return s.add(&setting{name: name, arg: arg, group: group, help: help, defText: strconv.FormatFloat(def, 'g', -1, 64), value: (*floatValue)(p)})
}

func (s *settings) dur(p *time.Duration, name string, def time.Duration, group, help string) *setting {
	*p = def
	return s.add(&setting{name: name, arg: "D", group: group, help: help, defText: formatDuration(def), value: (*durationValue)(p)})
}

func (s *settings) size(p *int64, name string, def int64, group, help string) *setting {
	*p = def
	return s.add(&setting{name: name, arg: "SIZE", group: group, help: help, defText: formatSize(def), value: (*sizeValue)(p)})
}

// load sets the settings from args (flags), then from env for those not
// given as flags, then from the config file (--config or NATTER_CONFIG)
// for those set by neither. --help prints the usage to helpOut and returns
// flag.ErrHelp.
func (s *settings) load(args []string, env func(string) (string, bool), helpOut io.Writer, header string) error {
	fs := flag.NewFlagSet("natter", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are returned; --help is printed below
	fs.Usage = func() {}
	for _, st := range s.all {
		fs.Var(st.value, st.name, st.help)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			s.usage(helpOut, header)
			return err
		}
		// The flag package says "-name"; natter's docs say "--name".
		msg := strings.Replace(err.Error(), "flag provided but not defined: -", "unknown flag --", 1)
		msg = strings.Replace(msg, " for flag -", " for --", 1)
		return fmt.Errorf("%s (see natter --help)", msg)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (flags are --name value; see natter --help)", fs.Arg(0))
	}
	given := map[string]string{} // setting -> where it came from
	fs.Visit(func(f *flag.Flag) { given[f.Name] = "--" + f.Name })

	for _, st := range s.all {
		if given[st.name] != "" {
			continue
		}
		v, ok := env(st.envName())
		if !ok {
			continue
		}
		if err := st.value.Set(v); err != nil {
			return fmt.Errorf("%s=%q: --%s %v", st.envName(), v, st.name, err)
		}
		given[st.name] = st.envName()
	}

	cfg := s.byName["config"]
	if cfg == nil || cfg.value.String() == "" {
		return nil
	}
	path := cfg.value.String()
	values, err := readConfigFile(path)
	if err != nil {
		return err
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		st := s.byName[k]
		if st == nil || k == "config" {
			return fmt.Errorf("config file %s: unknown setting %q%s", path, k, s.suggest(k))
		}
		v, err := fileValue(values[k], st.list)
		if err != nil {
			return fmt.Errorf("config file %s: %s: %v", path, k, err)
		}
		if given[k] != "" || v == nil {
			continue
		}
		if err := st.value.Set(*v); err != nil {
			return fmt.Errorf("config file %s: %s: %q: %v", path, k, *v, err)
		}
	}
	return nil
}

// suggest names the setting an unknown file key probably meant.
func (s *settings) suggest(k string) string {
	if k == "config" {
		return " (a config file cannot name another)"
	}
	norm := strings.ToLower(strings.NewReplacer("_", "-", " ", "-").Replace(strings.TrimLeft(k, "-")))
	if st := s.byName[norm]; st != nil && norm != "config" {
		return fmt.Sprintf(" (did you mean %q?)", st.name)
	}
	return " (the keys are the flag names; see natter --help)"
}

// readConfigFile decodes a YAML or TOML file, by extension, into its
// top-level keys.
func readConfigFile(path string) (map[string]any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--config: %w", err)
	}
	values := map[string]any{}
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".yaml", ".yml":
		if len(bytes.TrimSpace(b)) == 0 {
			return values, nil
		}
		var doc map[string]any
		if err := yaml.Unmarshal(b, &doc); err != nil {
			return nil, fmt.Errorf("config file %s: %v", path, err)
		}
		for k, v := range doc {
			values[k] = v
		}
	case ".toml":
		if _, err := toml.Decode(string(b), &values); err != nil {
			return nil, fmt.Errorf("config file %s: %v", path, err)
		}
	default:
		return nil, fmt.Errorf("--config %s: unknown file type %q; use .yaml, .yml or .toml", path, ext)
	}
	return values, nil
}

// fileValue turns a decoded file value into the text a flag takes; nil
// for a null (YAML ~), which leaves the setting alone.
func fileValue(v any, list bool) (*string, error) {
	var s string
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		s = x
	case bool:
		s = strconv.FormatBool(x)
	case int:
		s = strconv.Itoa(x)
	case int64:
		s = strconv.FormatInt(x, 10)
	case uint64:
		s = strconv.FormatUint(x, 10)
	case float64:
		s = strconv.FormatFloat(x, 'f', -1, 64)
	case []any:
		if !list {
			return nil, errors.New("must be a single value, not a list")
		}
		parts := make([]string, 0, len(x))
		for _, e := range x {
			p, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("list entries must be strings, not %v", e)
			}
			if strings.Contains(p, ",") {
				return nil, fmt.Errorf("list entry %q contains a comma", p)
			}
			parts = append(parts, p)
		}
		s = strings.Join(parts, ",")
	case map[string]any:
		return nil, errors.New("must be a value, not a table or map")
	default:
		return nil, fmt.Errorf("unsupported value %v (%T); use a string", x, x)
	}
	return &s, nil
}

// usage prints the settings by group with their defaults.
func (s *settings) usage(w io.Writer, header string) {
	fmt.Fprint(w, header)
	const col = 30
	for _, g := range groupOrder {
		first := true
		for _, st := range s.all {
			if st.group != g {
				continue
			}
			if first {
				fmt.Fprintf(w, "\n%s:\n", g)
				first = false
			}
			name := "  --" + st.name
			if st.arg != "" {
				name += " " + st.arg
			}
			printHelpLine(w, col, name, st.help+" (default "+st.defText+")")
		}
	}
}

// printHelpLine prints a flag's name and its text wrapped into a column
// starting at col (on the next line when the name is too long).
func printHelpLine(w io.Writer, col int, name, text string) {
	lines := wrap(text, 78-col)
	if utf8.RuneCountInString(name) >= col-1 {
		fmt.Fprintln(w, name)
	} else {
		fmt.Fprintf(w, "%-*s%s\n", col, name, lines[0])
		lines = lines[1:]
	}
	for _, l := range lines {
		fmt.Fprintf(w, "%*s%s\n", col, "", l)
	}
}

// wrap splits text into lines of at most width characters at spaces.
func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(text) {
		switch {
		case line == "":
			line = word
		case utf8.RuneCountInString(line)+1+utf8.RuneCountInString(word) > width:
			lines = append(lines, line)
			line = word
		default:
			line += " " + word
		}
	}
	return append(lines, line)
}

// Flag values with errors that say what was expected.

type stringValue string

func (v *stringValue) Set(s string) error { *v = stringValue(s); return nil }
func (v *stringValue) String() string     { return string(*v) }

type boolValue bool

func (v *boolValue) Set(s string) error {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "t", "true", "yes", "y", "on":
		*v = true
	case "0", "f", "false", "no", "n", "off":
		*v = false
	default:
		return errors.New("must be true or false")
	}
	return nil
}
func (v *boolValue) String() string   { return strconv.FormatBool(bool(*v)) }
func (v *boolValue) IsBoolFlag() bool { return true }

type intValue int

func (v *intValue) Set(s string) error {
	n, err := strconv.ParseInt(strings.TrimSpace(strings.ReplaceAll(s, "_", "")), 10, strconv.IntSize)
	if err != nil {
		return errors.New("must be a whole number")
	}
	*v = intValue(n)
	return nil
}
func (v *intValue) String() string { return strconv.Itoa(int(*v)) }

type int64Value int64

func (v *int64Value) Set(s string) error {
	n, err := strconv.ParseInt(strings.TrimSpace(strings.ReplaceAll(s, "_", "")), 10, 64)
	if err != nil {
		return errors.New("must be a whole number")
	}
	*v = int64Value(n)
	return nil
}
func (v *int64Value) String() string { return strconv.FormatInt(int64(*v), 10) }

type floatValue float64

func (v *floatValue) Set(s string) error {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return errors.New("must be a number")
	}
	*v = floatValue(f)
	return nil
}
func (v *floatValue) String() string { return strconv.FormatFloat(float64(*v), 'g', -1, 64) }

type durationValue time.Duration

func (v *durationValue) Set(s string) error {
	s = strings.TrimSpace(s)
	if s == "0" {
		*v = 0
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return errors.New("must be a duration like 500ms, 30s, 5m or 24h")
	}
	*v = durationValue(d)
	return nil
}
func (v *durationValue) String() string { return time.Duration(*v).String() }

// sizeValue is a byte count: 65536, 64KiB or 1MiB; KB, MB, GB, K, M and G
// are read as powers of 1024 too.
type sizeValue int64

var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30},
	{"kb", 1 << 10}, {"mb", 1 << 20}, {"gb", 1 << 30},
	{"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30},
	{"b", 1},
}

func (v *sizeValue) Set(s string) error {
	t := strings.ToLower(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/mult {
		return errors.New("must be a size in bytes like 65536, 64KiB or 1MiB")
	}
	*v = sizeValue(n * mult)
	return nil
}
func (v *sizeValue) String() string { return formatSize(int64(*v)) }

func formatSize(n int64) string {
	switch {
	case n > 0 && n%(1<<30) == 0:
		return strconv.FormatInt(n>>30, 10) + "GiB"
	case n > 0 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + "MiB"
	case n > 0 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + "KiB"
	}
	return strconv.FormatInt(n, 10)
}

// formatDuration prints 5m and 24h rather than Go's 5m0s and 24h0m0s.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
