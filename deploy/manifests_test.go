// Package deploy validates the Kubernetes manifests offline: each document is
// decoded strictly (unknown fields are errors) into the k8s.io/api types, and
// the cross-references the facade depends on (ports, probes, selectors,
// resources, configuration keys) are checked. kubeconform cannot be used here:
// it downloads its schemas, and our build machines have no internet.
package deploy

import (
	"bytes"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// knownEnv is every environment variable the server reads (cmd/server -h).
var knownEnv = map[string]bool{
	"GRPC_ADDR": true, "HTTP_ADDR": true, "CLOUDCOCKPIT_BASE_URL": true, "SANDBOX": true,
	"CLOUDCOCKPIT_TENANT": true, "SHUTDOWN_TIMEOUT": true, "SHUTDOWN_DELAY": true, "LOG_LEVEL": true, "LOG_FORMAT": true,
	"UPSTREAM_TIMEOUT": true, "UPSTREAM_ATTEMPT_TIMEOUT": true, "UPSTREAM_MAX_ATTEMPTS": true,
	"UPSTREAM_MAX_CONCURRENT": true, "UPSTREAM_QUEUE_TIMEOUT": true, "UPSTREAM_MAX_BODY_BYTES": true,
	"BREAKER_FAILURE_RATIO": true, "BREAKER_MIN_CALLS": true, "BREAKER_WINDOW": true, "BREAKER_OPEN_DURATION": true, "COALESCE": true,
	"UPSTREAM_TENANT_MAX_CONCURRENT": true, "UPSTREAM_RETRY_RATIO": true, "UPSTREAM_MAX_TENANTS": true, "UPSTREAM_TENANT_IDLE": true,
	"STALE_IF_ERROR": true, "STALE_CACHE_MAX_BYTES": true,
}

type manifests struct {
	configMaps  []corev1.ConfigMap
	deployments []appsv1.Deployment
	services    []corev1.Service
	hpas        []autoscalingv2.HorizontalPodAutoscaler
	pdbs        []policyv1.PodDisruptionBudget
}

// load decodes every document of every file listed in kustomization.yaml.
func load(t *testing.T) manifests {
	t.Helper()
	var k struct {
		APIVersion string   `json:"apiVersion"`
		Kind       string   `json:"kind"`
		Resources  []string `json:"resources"`
	}
	strict(t, "kustomization.yaml", readFile(t, "kustomization.yaml"), &k)
	if len(k.Resources) == 0 {
		t.Fatal("kustomization.yaml lists no resources")
	}
	var m manifests
	for _, file := range k.Resources {
		for i, doc := range bytes.Split(readFile(t, file), []byte("\n---\n")) {
			var tm metav1.TypeMeta
			if err := yaml.Unmarshal(doc, &tm); err != nil {
				t.Fatalf("%s doc %d: %v", file, i, err)
			}
			name := file + " " + tm.Kind
			switch tm.APIVersion + "/" + tm.Kind {
			case "v1/ConfigMap":
				var o corev1.ConfigMap
				strict(t, name, doc, &o)
				m.configMaps = append(m.configMaps, o)
			case "apps/v1/Deployment":
				var o appsv1.Deployment
				strict(t, name, doc, &o)
				m.deployments = append(m.deployments, o)
			case "v1/Service":
				var o corev1.Service
				strict(t, name, doc, &o)
				m.services = append(m.services, o)
			case "autoscaling/v2/HorizontalPodAutoscaler":
				var o autoscalingv2.HorizontalPodAutoscaler
				strict(t, name, doc, &o)
				m.hpas = append(m.hpas, o)
			case "policy/v1/PodDisruptionBudget":
				var o policyv1.PodDisruptionBudget
				strict(t, name, doc, &o)
				m.pdbs = append(m.pdbs, o)
			default:
				t.Fatalf("%s doc %d: unexpected %s %s", file, i, tm.APIVersion, tm.Kind)
			}
		}
	}
	return m
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func strict(t *testing.T, name string, doc []byte, into any) {
	t.Helper()
	if err := yaml.UnmarshalStrict(doc, into); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func TestManifests(t *testing.T) {
	m := load(t)
	if len(m.deployments) != 1 || len(m.configMaps) != 1 || len(m.services) < 1 || len(m.hpas) != 1 || len(m.pdbs) != 1 {
		t.Fatalf("want 1 Deployment, 1 ConfigMap, Services, 1 HPA, 1 PDB; got %d, %d, %d, %d, %d",
			len(m.deployments), len(m.configMaps), len(m.services), len(m.hpas), len(m.pdbs))
	}
	d := m.deployments[0]
	labels := d.Spec.Template.Labels
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil || !sel.Matches(labelSet(labels)) {
		t.Errorf("Deployment selector %v does not match its pod labels %v", d.Spec.Selector, labels)
	}
	if len(d.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("want one container, got %d", len(d.Spec.Template.Spec.Containers))
	}
	c := d.Spec.Template.Spec.Containers[0]
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	if ports["grpc"] != 9090 || ports["http"] != 8080 {
		t.Errorf("container ports = %v, want grpc 9090 and http 8080", ports)
	}

	t.Run("probes", func(t *testing.T) {
		if p := c.ReadinessProbe; p == nil || p.GRPC == nil || p.GRPC.Port != ports["grpc"] {
			t.Errorf("readiness probe must be grpc.health.v1 on the gRPC port: %+v", p)
		}
		for name, p := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "startup": c.StartupProbe} {
			if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/healthz" || p.HTTPGet.Port.String() != "http" {
				t.Errorf("%s probe must be GET /healthz on the http port: %+v", name, p)
			}
		}
	})

	t.Run("resources", func(t *testing.T) {
		req, lim := c.Resources.Requests, c.Resources.Limits
		if req.Cpu().IsZero() || req.Memory().IsZero() {
			t.Errorf("requests must set cpu and memory: %v", req)
		}
		if lim.Memory().Cmp(*req.Memory()) < 0 {
			t.Errorf("memory limit %v is below the request %v", lim.Memory(), req.Memory())
		}
		// The request's size: TestMemoryRequest.
	})

	t.Run("security", func(t *testing.T) {
		ps := d.Spec.Template.Spec.SecurityContext
		if ps == nil || ps.RunAsNonRoot == nil || !*ps.RunAsNonRoot {
			t.Error("pod must run as non-root")
		}
		if sc := c.SecurityContext; sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
			sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			t.Errorf("container must have a read-only root and no privilege escalation: %+v", sc)
		}
	})

	t.Run("configuration", func(t *testing.T) {
		cm := m.configMaps[0]
		var fromCM bool
		for _, e := range c.EnvFrom {
			fromCM = fromCM || (e.ConfigMapRef != nil && e.ConfigMapRef.Name == cm.Name)
		}
		if !fromCM {
			t.Errorf("the container does not read ConfigMap %s", cm.Name)
		}
		for k, v := range cm.Data {
			if !knownEnv[k] {
				t.Errorf("ConfigMap key %s is not a setting of the server", k)
			}
			if strings.Contains(strings.ToLower(k+v), "bearer") || strings.Contains(strings.ToLower(k), "token") {
				t.Errorf("ConfigMap key %s looks like a credential; the facade is token-free", k)
			}
		}
		// The probes and Services name the container's ports: the server must listen on them.
		for env, name := range map[string]string{"GRPC_ADDR": "grpc", "HTTP_ADDR": "http"} {
			if _, port, err := net.SplitHostPort(cm.Data[env]); err != nil || port != strconv.Itoa(int(ports[name])) {
				t.Errorf("ConfigMap %s = %q, but the container's %s port is %d", env, cm.Data[env], name, ports[name])
			}
		}
		drain, err := time.ParseDuration(cm.Data["SHUTDOWN_TIMEOUT"])
		if err != nil {
			t.Fatalf("SHUTDOWN_TIMEOUT: %v", err)
		}
		delay, err := time.ParseDuration(cm.Data["SHUTDOWN_DELAY"])
		if err != nil || delay <= 0 {
			t.Errorf("SHUTDOWN_DELAY = %q: want a positive delay so endpoints are removed before the drain", cm.Data["SHUTDOWN_DELAY"])
		}
		drain += delay
		grace := d.Spec.Template.Spec.TerminationGracePeriodSeconds
		if grace == nil || time.Duration(*grace)*time.Second <= drain {
			t.Errorf("terminationGracePeriodSeconds %v must exceed SHUTDOWN_DELAY + SHUTDOWN_TIMEOUT %v", grace, drain)
		}
	})

	t.Run("services", func(t *testing.T) {
		for _, s := range m.services {
			if !labelSet(s.Spec.Selector).AsSelector().Matches(labelSet(labels)) {
				t.Errorf("Service %s selector %v does not select the pods", s.Name, s.Spec.Selector)
			}
			for _, p := range s.Spec.Ports {
				if _, ok := ports[p.TargetPort.String()]; !ok {
					t.Errorf("Service %s port %s targets %q, not a container port name", s.Name, p.Name, p.TargetPort.String())
				}
			}
		}
	})

	t.Run("autoscaling and disruption", func(t *testing.T) {
		h := m.hpas[0]
		if h.Spec.ScaleTargetRef.Kind != "Deployment" || h.Spec.ScaleTargetRef.Name != d.Name {
			t.Errorf("HPA targets %+v, want Deployment %s", h.Spec.ScaleTargetRef, d.Name)
		}
		if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas < 2 {
			t.Error("HPA minReplicas must be at least 2 (one pod can drain while another serves)")
		}
		// The HPA owns the replica count: a spec.replicas in the manifest puts
		// it back to that number on every `kubectl apply -k deploy/`, scaling
		// a deployment the HPA had scaled out down in the middle of a rollout
		// (Kubernetes' HPA documentation, "Migrating Deployments and
		// StatefulSets to horizontal autoscaling").
		if d.Spec.Replicas != nil {
			t.Errorf("Deployment %s sets replicas: %d, but HPA %s scales it: leave replicas out of the manifest", d.Name, *d.Spec.Replicas, h.Name)
		}
		p := m.pdbs[0]
		ps, err := metav1.LabelSelectorAsSelector(p.Spec.Selector)
		if err != nil || !ps.Matches(labelSet(labels)) {
			t.Errorf("PDB selector %v does not select the pods", p.Spec.Selector)
		}
		// The PDB must leave room for one voluntary eviction at the HPA's floor,
		// or a node drain blocks.
		if p.Spec.MinAvailable == nil || h.Spec.MinReplicas == nil || p.Spec.MinAvailable.IntValue() >= int(*h.Spec.MinReplicas) {
			t.Errorf("PDB minAvailable %v must be below the HPA's minReplicas %v", p.Spec.MinAvailable, h.Spec.MinReplicas)
		}
	})
}
