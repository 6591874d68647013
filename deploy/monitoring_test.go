package deploy

// Checks of deploy/monitoring/: the rules file and the PrometheusRule made
// from it, the ServiceMonitor, the Grafana dashboard and the runbooks in
// docs/operations.md. promtool checks and unit-tests the rules themselves
// (`make rules-check`); metrics_test.go checks that every metric they use is
// one the binary exports.

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus/prometheus/promql/parser"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite monitoring/prometheusrule.yaml from monitoring/rules.yaml")

const (
	rulesFile          = "monitoring/rules.yaml"
	prometheusRuleFile = "monitoring/prometheusrule.yaml"
	serviceMonitorFile = "monitoring/servicemonitor.yaml"
	dashboardFile      = "monitoring/dashboard.json"
	operationsDoc      = "../docs/operations.md"
	observabilityDoc   = "../docs/observability.md"
	runbookBase        = "https://github.com/cloudcockpit/cloudcockpit-facade/blob/main/docs/operations.md#"
)

// prometheusRuleHeader is what prometheusrule.yaml holds before the groups
// of rules.yaml, indented under spec.
const prometheusRuleHeader = `# GENERATED from rules.yaml by ` + "`make monitoring-generate`" + `: do not edit.
# The same groups as rules.yaml, for prometheus-operator. Your Prometheus must
# select this PrometheusRule (its ruleSelector; kube-prometheus-stack selects
# by the release label: add it here if yours does).
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: cloudcockpit-facade
  labels:
    app.kubernetes.io/name: cloudcockpit-facade
spec:
`

// prometheusRule renders prometheusrule.yaml from rules.yaml: the header,
// then everything from "groups:" on, indented by two spaces (comments kept).
func prometheusRule(rules []byte) ([]byte, error) {
	i := bytes.Index(rules, []byte("\ngroups:\n"))
	if i < 0 {
		return nil, fmt.Errorf("%s has no top-level groups:", rulesFile)
	}
	var b bytes.Buffer
	b.WriteString(prometheusRuleHeader)
	for line := range strings.SplitAfterSeq(string(rules[i+1:]), "\n") {
		if strings.TrimSpace(line) != "" {
			b.WriteString("  ")
		}
		b.WriteString(line)
	}
	return b.Bytes(), nil
}

// TestPrometheusRuleIsGenerated checks that prometheusrule.yaml is rules.yaml
// in a PrometheusRule; -update rewrites it.
func TestPrometheusRuleIsGenerated(t *testing.T) {
	want, err := prometheusRule(readFile(t, rulesFile))
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(prometheusRuleFile, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if got := readFile(t, prometheusRuleFile); !bytes.Equal(got, want) {
		t.Errorf("%s is stale: run `make monitoring-generate` and commit it", prometheusRuleFile)
	}

	// Both decode strictly into the operator's types, to the same groups.
	var plain monitoringv1.PrometheusRuleSpec
	strict(t, rulesFile, readFile(t, rulesFile), &plain)
	var pr monitoringv1.PrometheusRule
	strict(t, prometheusRuleFile, readFile(t, prometheusRuleFile), &pr)
	if pr.APIVersion != "monitoring.coreos.com/v1" || pr.Kind != "PrometheusRule" {
		t.Errorf("%s: got %s %s", prometheusRuleFile, pr.APIVersion, pr.Kind)
	}
	a, _ := json.Marshal(plain)
	b, _ := json.Marshal(pr.Spec)
	if !bytes.Equal(a, b) {
		t.Errorf("the PrometheusRule's groups differ from %s", rulesFile)
	}
}

// loadRules decodes rules.yaml.
func loadRules(t *testing.T) monitoringv1.PrometheusRuleSpec {
	t.Helper()
	var spec monitoringv1.PrometheusRuleSpec
	strict(t, rulesFile, readFile(t, rulesFile), &spec)
	if len(spec.Groups) == 0 {
		t.Fatalf("%s has no groups", rulesFile)
	}
	return spec
}

// githubAnchor is the fragment GitHub gives a Markdown heading.
func githubAnchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		}
	}
	return b.String()
}

// docAnchors lists the anchors of docs/operations.md's headings.
func docAnchors(t *testing.T) map[string]bool {
	t.Helper()
	anchors := map[string]bool{}
	for line := range strings.SplitSeq(string(readFile(t, operationsDoc)), "\n") {
		if strings.HasPrefix(line, "#") {
			anchors[githubAnchor(strings.TrimLeft(line, "#"))] = true
		}
	}
	return anchors
}

// TestRules checks what promtool does not: names, severities, the
// annotations every alert needs and the runbook section each one points to.
func TestRules(t *testing.T) {
	anchors := docAnchors(t)
	seen := map[string]bool{}
	alerts := 0
	for _, g := range loadRules(t).Groups {
		for _, r := range g.Rules {
			name := r.Record + r.Alert
			if seen[name] {
				t.Errorf("%s is defined twice", name)
			}
			seen[name] = true
			if _, err := parser.NewParser(parser.Options{}).ParseExpr(r.Expr.String()); err != nil {
				t.Errorf("%s: %v", name, err)
			}
			if r.Record != "" {
				if strings.Count(r.Record, ":") != 2 {
					t.Errorf("recording rule %s is not named level:metric:operations", r.Record)
				}
				continue
			}
			alerts++
			if !strings.HasPrefix(r.Alert, "CloudCockpit") {
				t.Errorf("alert %s: name must start with CloudCockpit", r.Alert)
			}
			if s := r.Labels["severity"]; s != "critical" && s != "warning" {
				t.Errorf("alert %s: severity %q, want critical (page) or warning (ticket)", r.Alert, s)
			}
			for _, k := range []string{"summary", "description", "runbook_url"} {
				if strings.TrimSpace(r.Annotations[k]) == "" {
					t.Errorf("alert %s has no %s", r.Alert, k)
				}
			}
			want := runbookBase + strings.ToLower(r.Alert)
			if got := r.Annotations["runbook_url"]; got != want {
				t.Errorf("alert %s: runbook_url %q, want %q", r.Alert, got, want)
			}
			if !anchors[strings.ToLower(r.Alert)] {
				t.Errorf("alert %s: %s has no heading %q (its runbook)", r.Alert, operationsDoc, r.Alert)
			}
		}
	}
	if alerts == 0 {
		t.Fatal("no alerts")
	}
}

// TestServiceMonitor decodes the ServiceMonitor strictly and checks that it
// selects the facade's Service and scrapes a port it has.
func TestServiceMonitor(t *testing.T) {
	var sm monitoringv1.ServiceMonitor
	strict(t, serviceMonitorFile, readFile(t, serviceMonitorFile), &sm)
	if sm.APIVersion != "monitoring.coreos.com/v1" || sm.Kind != "ServiceMonitor" {
		t.Fatalf("%s: got %s %s", serviceMonitorFile, sm.APIVersion, sm.Kind)
	}
	sel, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
	if err != nil {
		t.Fatal(err)
	}
	if len(sm.Spec.Endpoints) != 1 {
		t.Fatalf("want one endpoint, got %d", len(sm.Spec.Endpoints))
	}
	ep := sm.Spec.Endpoints[0]
	if ep.Path != "/metrics" {
		t.Errorf("endpoint path %q, want /metrics", ep.Path)
	}
	var scraped []string
	for _, s := range load(t).services {
		if !sel.Matches(labelSet(s.Labels)) {
			continue
		}
		if hasPort(s, ep.Port) {
			scraped = append(scraped, s.Name)
		}
	}
	// The job is named after the Service, and the rules select that job.
	if len(scraped) != 1 || scraped[0] != "cloudcockpit-facade" {
		t.Errorf("the ServiceMonitor scrapes port %q of Services %v, want exactly [cloudcockpit-facade]", ep.Port, scraped)
	}
	if !strings.Contains(string(readFile(t, rulesFile)), `job="`+scraped[0]+`"`) {
		t.Errorf("%s does not select job=%q", rulesFile, scraped[0])
	}
}

func hasPort(s corev1.Service, name string) bool {
	for _, p := range s.Spec.Ports {
		if p.Name == name {
			return true
		}
	}
	return false
}

// dashboard is the part of a Grafana dashboard JSON the tests read.
type dashboard struct {
	UID           string  `json:"uid"`
	Title         string  `json:"title"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int    `json:"id"`
	Type       string `json:"type"`
	Title      string `json:"title"`
	Datasource *struct {
		Type string `json:"type"`
		UID  string `json:"uid"`
	} `json:"datasource"`
	GridPos struct{ H, W, X, Y int } `json:"gridPos"`
	Targets []struct {
		Expr  string `json:"expr"`
		RefID string `json:"refId"`
	} `json:"targets"`
	Panels []panel `json:"panels"`
}

// loadDashboard decodes dashboard.json, rejecting trailing data and
// duplicate keys.
func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	raw := readFile(t, dashboardFile)
	if !json.Valid(raw) {
		t.Fatalf("%s is not valid JSON", dashboardFile)
	}
	var d dashboard
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	if dec.More() {
		t.Fatalf("%s: data after the dashboard object", dashboardFile)
	}
	return d
}

// allPanels flattens rows' nested panels.
func (d dashboard) allPanels() []panel {
	var out []panel
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			out = append(out, p)
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out
}

// grafanaVars replaces the dashboard's variables by values PromQL parses.
var grafanaVars = strings.NewReplacer(
	"$__rate_interval", "5m", "$__interval", "1m", "$__range", "1h",
	"${datasource}", "x", "$job", "cloudcockpit-facade", "$namespace", "default",
)

// dashboardExprs returns every query of the dashboard (panels and
// variables), with the variables replaced.
func dashboardExprs(t *testing.T) map[string]string {
	t.Helper()
	d := loadDashboard(t)
	exprs := map[string]string{}
	for _, p := range d.allPanels() {
		for _, tg := range p.Targets {
			exprs[fmt.Sprintf("panel %d %q target %s", p.ID, p.Title, tg.RefID)] = grafanaVars.Replace(tg.Expr)
		}
	}
	labelValues := regexp.MustCompile(`^label_values\((.+), *\w+\)$`)
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		q, _ := v.Query.(map[string]any)
		s, _ := q["query"].(string)
		m := labelValues.FindStringSubmatch(s)
		if m == nil {
			t.Errorf("variable %s: query %q is not label_values(selector, label)", v.Name, s)
			continue
		}
		exprs["variable "+v.Name] = grafanaVars.Replace(m[1])
	}
	return exprs
}

// TestDashboard checks that the dashboard imports as it is: valid JSON, a
// uid and title, unique panel ids, panels on the grid, every panel on the
// datasource variable and every query valid PromQL; and that it has every
// panel the runbooks of docs/operations.md name.
func TestDashboard(t *testing.T) {
	d := loadDashboard(t)
	if d.UID == "" || d.Title == "" || d.SchemaVersion == 0 {
		t.Errorf("uid %q, title %q, schemaVersion %d: all must be set", d.UID, d.Title, d.SchemaVersion)
	}
	hasDatasourceVar := false
	for _, v := range d.Templating.List {
		hasDatasourceVar = hasDatasourceVar || v.Type == "datasource" && v.Name == "datasource"
	}
	if !hasDatasourceVar {
		t.Error("no datasource variable: the dashboard would be tied to one Prometheus")
	}
	ids := map[int]string{}
	titles := map[string]bool{}
	queries := 0
	for _, p := range d.allPanels() {
		titles[p.Title] = true
		if p.ID <= 0 {
			t.Errorf("panel %q has no id", p.Title)
		}
		if other, dup := ids[p.ID]; dup {
			t.Errorf("panels %q and %q share id %d", other, p.Title, p.ID)
		}
		ids[p.ID] = p.Title
		if p.Title == "" {
			t.Errorf("panel %d has no title", p.ID)
		}
		if g := p.GridPos; g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 {
			t.Errorf("panel %d %q: gridPos %+v is off the 24-column grid", p.ID, p.Title, g)
		}
		if p.Type == "row" {
			continue
		}
		if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
			t.Errorf("panel %d %q: datasource %+v, want uid ${datasource}", p.ID, p.Title, p.Datasource)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %d %q has no query", p.ID, p.Title)
		}
		queries += len(p.Targets)
	}
	if queries == 0 {
		t.Fatal("the dashboard has no queries")
	}
	for where, expr := range dashboardExprs(t) {
		if _, err := parser.NewParser(parser.Options{}).ParseExpr(expr); err != nil {
			t.Errorf("%s: %v\n%s", where, err, expr)
		}
	}
	// The runbooks name panels in quotes ("Errors per second by code").
	_, runbooks, _ := strings.Cut(string(readFile(t, operationsDoc)), "\n## Alerts and runbooks\n")
	runbooks, _, _ = strings.Cut(strings.Join(strings.Fields(runbooks), " "), " ## ")
	named := regexp.MustCompile(`"([^"]+)"`).FindAllStringSubmatch(runbooks, -1)
	for _, m := range named {
		if !titles[m[1]] {
			t.Errorf("%s's runbooks name the panel %q, which %s does not have", operationsDoc, m[1], dashboardFile)
		}
	}
	if len(named) < 10 {
		t.Errorf("found %d panel names in %s's runbooks, want the runbooks' (at least 10)", len(named), operationsDoc)
	}
}

// TestMonitoringKustomization checks that deploy/monitoring's kustomization
// lists its manifests and ships the dashboard.
func TestMonitoringKustomization(t *testing.T) {
	var k struct {
		APIVersion         string   `json:"apiVersion"`
		Kind               string   `json:"kind"`
		Resources          []string `json:"resources"`
		ConfigMapGenerator []struct {
			Name    string   `json:"name"`
			Files   []string `json:"files"`
			Options struct {
				DisableNameSuffixHash bool              `json:"disableNameSuffixHash"`
				Labels                map[string]string `json:"labels"`
			} `json:"options"`
		} `json:"configMapGenerator"`
	}
	if err := yaml.UnmarshalStrict(readFile(t, "monitoring/kustomization.yaml"), &k); err != nil {
		t.Fatal(err)
	}
	for _, f := range k.Resources {
		readFile(t, "monitoring/"+f)
	}
	if strings.Join(k.Resources, ",") != "servicemonitor.yaml,prometheusrule.yaml" {
		t.Errorf("resources = %v", k.Resources)
	}
	if len(k.ConfigMapGenerator) != 1 || strings.Join(k.ConfigMapGenerator[0].Files, ",") != "dashboard.json" ||
		k.ConfigMapGenerator[0].Options.Labels["grafana_dashboard"] != "1" {
		t.Errorf("configMapGenerator must ship dashboard.json labelled grafana_dashboard=1: %+v", k.ConfigMapGenerator)
	}
}
