// Package outputsch is the harness's k6 output: `--out sch=file=PATH,metrics=NAME|PREFIX*|…`.
//
// It writes k6's CSV format (the columns and cell semantics of k6's own `--out csv` with
// K6_CSV_TIME_FORMAT=unix_micro), so src/results/k6-csv.ts stays the one reader, but only the rows of the
// metrics the analysis reads (`metrics`: names, or prefixes ending in `*`; absent: every metric). Why not
// k6's csv output: on a fast loop it cost ~20 % of k6's request rate (bench/k6-overhead.ts), nearly all of
// it per-sample allocation (a tag map, a row of strings, a bytes.Buffer, fmt) and the GC that follows.
// Here each row is appended to one byte buffer: the metric name and the tag columns are formatted once per
// metric and per tag set (k6 interns tag sets: one pointer per distinct set), time and value with strconv.
// The buffer goes to the file every second (the run follows the file live), never gzipped while k6 runs.
package outputsch

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"go.k6.io/k6/v2/metrics"
	"go.k6.io/k6/v2/output"
)

func init() {
	output.RegisterExtension("sch", New)
}

// flushPeriod: as k6's csv output, so a reader following the file sees the run second by second.
const flushPeriod = time.Second

// maxTagSets bounds the per-tag-set cache (a script with unbounded tag values must not grow it forever).
const maxTagSets = 100_000

// Config is what `--out sch=ARG` says: `file=PATH[,metrics=A|B|pre*]`, or a bare PATH.
type Config struct {
	File    string
	Metrics []string
}

// ParseConfig reads the output's argument.
func ParseConfig(arg string) (Config, error) {
	var c Config
	if !strings.Contains(arg, "=") {
		c.File = arg
	} else {
		for _, part := range strings.Split(arg, ",") {
			k, v, ok := strings.Cut(part, "=")
			if !ok {
				return c, fmt.Errorf("sch output: %q is not key=value (file=PATH,metrics=A|B|prefix*)", part)
			}
			switch k {
			case "file":
				c.File = v
			case "metrics":
				for _, m := range strings.Split(v, "|") {
					if m != "" {
						c.Metrics = append(c.Metrics, m)
					}
				}
			default:
				return c, fmt.Errorf("sch output: unknown option %q (known: file, metrics)", k)
			}
		}
	}
	if c.File == "" || c.File == "-" {
		return c, errors.New("sch output: needs a file (file=PATH)")
	}
	return c, nil
}

// Output implements output.Output.
type Output struct {
	logger  logrus.FieldLogger
	params  output.Params
	cfg     Config
	columns []string // the indexable system tags k6 collects, sorted: the tag columns of k6's csv output
	isCol   map[string]bool

	mu      sync.Mutex
	rows    []byte                     // rows formatted since the last flush
	metrics map[*metrics.Metric][]byte // the quoted name and its comma; nil: a metric not written
	tagSets map[*metrics.TagSet][]byte // the tag columns and extra_tags, each followed by a comma
	fmtBuf  bytes.Buffer
	fmtW    *csv.Writer
	fields  []string

	fileMu  sync.Mutex
	file    io.WriteCloser
	spare   []byte
	flusher *output.PeriodicFlusher
	failed  bool
}

// New builds the output from k6's parameters.
func New(params output.Params) (output.Output, error) {
	cfg, err := ParseConfig(params.ConfigArgument)
	if err != nil {
		return nil, err
	}
	o := &Output{
		logger:  params.Logger.WithFields(logrus.Fields{"output": "sch", "filename": cfg.File}),
		params:  params,
		cfg:     cfg,
		isCol:   map[string]bool{},
		metrics: map[*metrics.Metric][]byte{},
		tagSets: map[*metrics.TagSet][]byte{},
	}
	o.fmtW = csv.NewWriter(&o.fmtBuf)
	if params.ScriptOptions.SystemTags != nil {
		for name := range params.ScriptOptions.SystemTags.Map() {
			tag, err := metrics.SystemTagString(name)
			if err != nil {
				return nil, err
			}
			// vu and iter are metadata in k6 (high cardinality), not columns: as k6's csv output.
			if metrics.NonIndexableSystemTags.Has(tag) {
				continue
			}
			o.columns = append(o.columns, name)
		}
	}
	sort.Strings(o.columns)
	for _, c := range o.columns {
		o.isCol[c] = true
	}
	return o, nil
}

// Description is shown in k6's banner.
func (o *Output) Description() string {
	return fmt.Sprintf("sch csv (%s, %d metric patterns)", o.cfg.File, len(o.cfg.Metrics))
}

// Start creates the file, writes the header and starts the flusher.
func (o *Output) Start() error {
	f, err := o.params.FS.Create(o.cfg.File)
	if err != nil {
		return err
	}
	o.file = f
	header := append(append([]string{"metric_name", "timestamp", "metric_value"}, o.columns...), "extra_tags", "metadata")
	if _, err := f.Write(o.record(header, '\n')); err != nil {
		return err
	}
	pf, err := output.NewPeriodicFlusher(flushPeriod, o.flush)
	if err != nil {
		return err
	}
	o.flusher = pf
	return nil
}

// Stop writes what is left and closes the file.
func (o *Output) Stop() error {
	if o.flusher != nil {
		o.flusher.Stop()
	}
	if o.file == nil {
		return nil
	}
	return o.file.Close()
}

// AddMetricSamples formats the wanted samples at once (nothing is kept but bytes).
func (o *Output) AddMetricSamples(containers []metrics.SampleContainer) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, c := range containers {
		// A single Sample's GetSamples allocates a one-element slice: take it as it is.
		if s, ok := c.(metrics.Sample); ok {
			o.add(&s)
			continue
		}
		samples := c.GetSamples()
		for i := range samples {
			o.add(&samples[i])
		}
	}
}

func (o *Output) add(s *metrics.Sample) {
	name, seen := o.metrics[s.Metric]
	if !seen {
		name = nil
		if o.wanted(s.Metric.Name) {
			name = o.record([]string{s.Metric.Name}, ',')
		}
		o.metrics[s.Metric] = name
	}
	if name == nil {
		return
	}
	tags, ok := o.tagSets[s.Tags]
	if !ok {
		if len(o.tagSets) >= maxTagSets {
			o.tagSets = map[*metrics.TagSet][]byte{}
		}
		tags = o.tagColumns(s.Tags)
		o.tagSets[s.Tags] = tags
	}
	b := append(o.rows, name...)
	b = strconv.AppendInt(b, s.Time.UnixMicro(), 10)
	b = append(b, ',')
	b = strconv.AppendFloat(b, s.Value, 'f', 6, 64) // fmt's %f, as k6's csv output
	b = append(b, ',')
	b = append(b, tags...)
	if len(s.Metadata) > 0 {
		b = append(b, o.record([]string{o.pairs(s.Metadata)}, '\n')...)
	} else {
		b = append(b, '\n')
	}
	o.rows = b
}

func (o *Output) wanted(name string) bool {
	if len(o.cfg.Metrics) == 0 {
		return true
	}
	for _, m := range o.cfg.Metrics {
		if p, ok := strings.CutSuffix(m, "*"); ok {
			if strings.HasPrefix(name, p) {
				return true
			}
		} else if m == name {
			return true
		}
	}
	return false
}

// tagColumns: each system tag column (empty when absent), then the other tags as `k=v&k=v` (sorted), each
// cell followed by a comma (metadata comes last).
func (o *Output) tagColumns(ts *metrics.TagSet) []byte {
	m := map[string]string{}
	if ts != nil {
		m = ts.Map()
	}
	fields := make([]string, 0, len(o.columns)+1)
	for _, c := range o.columns {
		fields = append(fields, m[c])
	}
	fields = append(fields, o.pairs(m))
	return o.record(fields, ',')
}

// pairs: k=v joined by & in key order, without the system tag columns (k6's csv output leaves them out of
// extra_tags and metadata alike).
func (o *Output) pairs(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		if !o.isCol[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var sb strings.Builder
	for i, k := range keys {
		if i > 0 {
			sb.WriteByte('&')
		}
		sb.WriteString(k)
		sb.WriteByte('=')
		sb.WriteString(m[k])
	}
	return sb.String()
}

// record quotes fields exactly as encoding/csv (k6's csv output uses it) and ends them with `end`.
func (o *Output) record(fields []string, end byte) []byte {
	o.fmtBuf.Reset()
	_ = o.fmtW.Write(fields) // writes to a bytes.Buffer: cannot fail
	o.fmtW.Flush()
	b := o.fmtBuf.Bytes()
	out := make([]byte, len(b))
	copy(out, b)
	out[len(out)-1] = end
	return out
}

// flush swaps the row buffer for the spare one and writes it.
func (o *Output) flush() {
	o.fileMu.Lock()
	defer o.fileMu.Unlock()
	o.mu.Lock()
	rows := o.rows
	o.rows = o.spare[:0]
	o.mu.Unlock()
	if len(rows) > 0 && !o.failed {
		if _, err := o.file.Write(rows); err != nil {
			// Logged once: a full disk would otherwise log every second.
			o.failed = true
			o.logger.WithError(err).Error("sch output: cannot write samples; the rest of the run is not written")
		}
	}
	o.spare = rows[:0]
}
