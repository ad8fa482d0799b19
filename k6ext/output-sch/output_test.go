package outputsch

import (
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"go.k6.io/k6/v2/lib"
	"go.k6.io/k6/v2/lib/fsext"
	"go.k6.io/k6/v2/metrics"
	"go.k6.io/k6/v2/output"
)

func newTestOutput(t *testing.T, arg string) (*Output, fsext.Fs, *metrics.Registry) {
	t.Helper()
	fs := fsext.NewMemMapFs()
	tags := metrics.NewSystemTagSet(metrics.TagStatus, metrics.TagMethod, metrics.TagScenario, metrics.TagVU)
	out, err := New(output.Params{ConfigArgument: arg, Logger: logrus.New(), FS: fs, ScriptOptions: lib.Options{SystemTags: tags}})
	if err != nil {
		t.Fatal(err)
	}
	return out.(*Output), fs, metrics.NewRegistry()
}

// The rows read back with encoding/csv: the header, the wanted metric only, quoting, metadata.
func TestRowsAsK6CSV(t *testing.T) {
	o, fs, reg := newTestOutput(t, "file=/s.csv,metrics=http_req_duration|sc_*")
	if err := o.Start(); err != nil {
		t.Fatal(err)
	}
	dur := reg.MustNewMetric("http_req_duration", metrics.Trend, metrics.Time)
	other := reg.MustNewMetric("http_req_blocked", metrics.Trend, metrics.Time)
	probe := reg.MustNewMetric("sc_attempt", metrics.Counter)
	tags := reg.RootTagSet().With("status", "200").With("method", "GET").With("name", "login").With("note", `a,"b"`)
	at := time.UnixMicro(1796022311790997)
	o.AddMetricSamples([]metrics.SampleContainer{
		metrics.Samples{
			{TimeSeries: metrics.TimeSeries{Metric: dur, Tags: tags}, Time: at, Value: 36.5230004},
			{TimeSeries: metrics.TimeSeries{Metric: other, Tags: tags}, Time: at, Value: 1},
		},
		metrics.Sample{TimeSeries: metrics.TimeSeries{Metric: probe, Tags: reg.RootTagSet().With("probe", "login")}, Time: at, Value: 1, Metadata: map[string]string{"t0": "1796022311790", "vu": "3"}},
	})
	if err := o.Stop(); err != nil {
		t.Fatal(err)
	}
	data, err := fsext.ReadFile(fs, "/s.csv")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(strings.NewReader(string(data))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"metric_name", "timestamp", "metric_value", "method", "scenario", "status", "extra_tags", "metadata"},
		{"http_req_duration", "1796022311790997", "36.523000", "GET", "", "200", `name=login&note=a,"b"`, ""},
		{"sc_attempt", "1796022311790997", "1.000000", "", "", "", "probe=login", "t0=1796022311790&vu=3"},
	}
	if len(rows) != len(want) {
		t.Fatalf("rows %q, want %q", rows, want)
	}
	for i := range want {
		if strings.Join(rows[i], "|") != strings.Join(want[i], "|") {
			t.Errorf("row %d: %q, want %q", i, rows[i], want[i])
		}
	}
}

// A sample of a metric and tag set seen before allocates nothing (the row buffer's growth aside).
func TestNoAllocationPerSample(t *testing.T) {
	o, _, reg := newTestOutput(t, "file=/s.csv,metrics=http_reqs")
	m := reg.MustNewMetric("http_reqs", metrics.Counter)
	s := metrics.Sample{TimeSeries: metrics.TimeSeries{Metric: m, Tags: reg.RootTagSet().With("status", "200")}, Time: time.Now(), Value: 1}
	batch := []metrics.SampleContainer{metrics.Samples{s, s, s, s}}
	o.AddMetricSamples(batch)
	o.rows = make([]byte, 0, 1<<20)
	if n := testing.AllocsPerRun(1000, func() {
		o.AddMetricSamples(batch)
		o.rows = o.rows[:0]
	}); n != 0 {
		t.Fatalf("%v allocations per batch", n)
	}
}

func TestParseConfig(t *testing.T) {
	for _, bad := range []string{"", "file=", "file=/x,colour=red", "file=/x,metrics"} {
		if _, err := ParseConfig(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	c, err := ParseConfig("/x.csv")
	if err != nil || c.File != "/x.csv" || len(c.Metrics) != 0 {
		t.Errorf("bare path: %+v %v", c, err)
	}
}
