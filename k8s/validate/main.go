// Command validate renders kustomize directories (krusty, the library inside kubectl) and
// checks every object they produce:
//
//  1. strict decoding against the real Kubernetes API types (k8s.io/api through client-go's
//     scheme, the same Go structs and JSON tags the API server decodes into): an unknown or
//     duplicated field, a wrong type, or a kind/apiVersion the scheme does not know fails;
//  2. the checks the API server's own validation makes on names, labels and ports
//     (k8s.io/apimachinery/pkg/util/validation, the functions it calls);
//  3. the references between objects, which no single-object validation sees: every
//     ConfigMap/Secret a pod reads exists (or is listed in the directory's EXTERNAL file),
//     workload selectors select their own pod template, a Service selects a pod template and
//     targets a named container port, an HPA/PDB points at a workload, probes use a declared
//     port, and every serving container has readiness and liveness probes and resources.
//
// Usage: validate DIR...   (exit 0 when every object of every DIR passes, 1 otherwise)
package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// Object is one rendered object, decoded.
type Object struct {
	Kind string
	Name string
	Obj  runtime.Object
}

// Render builds a kustomize directory and strictly decodes each object it yields.
func Render(dir string) ([]Object, error) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	resMap, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	codecs := serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict)
	decoder := codecs.UniversalDeserializer()
	var objects []Object
	var problems []error
	for _, res := range resMap.Resources() {
		yml, err := res.AsYAML()
		if err != nil {
			return nil, err
		}
		id := res.CurId().String()
		obj, gvk, err := decoder.Decode(yml, nil, nil)
		if err != nil {
			problems = append(problems, fmt.Errorf("%s: %w", id, err))
			continue
		}
		objects = append(objects, Object{Kind: gvk.Kind, Name: res.GetName(), Obj: obj})
	}
	return objects, errors.Join(problems...)
}

// External reads DIR/EXTERNAL: "Kind/name" lines of objects created outside git.
func External(dir string) (map[string]bool, error) {
	out := map[string]bool{}
	f, err := os.Open(filepath.Join(dir, "EXTERNAL"))
	if errors.Is(err, os.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line != "" && !strings.HasPrefix(line, "#") {
			out[line] = true
		}
	}
	return out, sc.Err()
}

type checker struct {
	problems []string
	byKey    map[string]Object
	external map[string]bool
	// pod templates of the workloads, by "Kind/name"
	templates map[string]*corev1.PodTemplateSpec
}

func (c *checker) fail(format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

func (c *checker) exists(kind, name string) bool {
	_, ok := c.byKey[kind+"/"+name]
	return ok || c.external[kind+"/"+name]
}

func (c *checker) names(where string, meta metav1.ObjectMeta) {
	for _, msg := range validation.IsDNS1123Subdomain(meta.Name) {
		c.fail("%s: metadata.name %q: %s", where, meta.Name, msg)
	}
	c.labels(where+" metadata.labels", meta.Labels)
}

func (c *checker) labels(where string, l map[string]string) {
	for k, v := range l {
		for _, msg := range validation.IsQualifiedName(k) {
			c.fail("%s: label key %q: %s", where, k, msg)
		}
		for _, msg := range validation.IsValidLabelValue(v) {
			c.fail("%s: label %q value %q: %s", where, k, v, msg)
		}
	}
}

func (c *checker) selector(where string, sel *metav1.LabelSelector, tmpl *corev1.PodTemplateSpec) {
	if sel == nil {
		c.fail("%s: no selector", where)
		return
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		c.fail("%s: selector: %v", where, err)
		return
	}
	if s.Empty() {
		c.fail("%s: empty selector selects every pod", where)
	}
	if tmpl != nil && !s.Matches(labels.Set(tmpl.Labels)) {
		c.fail("%s: selector %s does not select its own pod template (labels %v)", where, s, tmpl.Labels)
	}
}

func (c *checker) podSpec(where string, spec *corev1.PodSpec, serving bool) {
	volumes := map[string]bool{}
	for _, v := range spec.Volumes {
		volumes[v.Name] = true
		if v.ConfigMap != nil && !c.exists("ConfigMap", v.ConfigMap.Name) {
			c.fail("%s: volume %s: ConfigMap %s does not exist", where, v.Name, v.ConfigMap.Name)
		}
		if v.Secret != nil && !c.exists("Secret", v.Secret.SecretName) {
			c.fail("%s: volume %s: Secret %s does not exist", where, v.Name, v.Secret.SecretName)
		}
	}
	if spec.ServiceAccountName != "" && !c.exists("ServiceAccount", spec.ServiceAccountName) {
		c.fail("%s: ServiceAccount %s does not exist", where, spec.ServiceAccountName)
	}
	for _, ctr := range spec.Containers {
		cw := fmt.Sprintf("%s container %s", where, ctr.Name)
		for _, msg := range validation.IsDNS1123Label(ctr.Name) {
			c.fail("%s: name: %s", cw, msg)
		}
		if ctr.Image == "" {
			c.fail("%s: no image", cw)
		}
		ports := map[string]int32{}
		for _, p := range ctr.Ports {
			for _, msg := range validation.IsValidPortNum(int(p.ContainerPort)) {
				c.fail("%s: port %d: %s", cw, p.ContainerPort, msg)
			}
			if p.Name != "" {
				for _, msg := range validation.IsValidPortName(p.Name) {
					c.fail("%s: port name %q: %s", cw, p.Name, msg)
				}
				ports[p.Name] = p.ContainerPort
			}
		}
		for _, m := range ctr.VolumeMounts {
			if !volumes[m.Name] {
				c.fail("%s: volumeMount %s names no volume", cw, m.Name)
			}
		}
		for _, from := range ctr.EnvFrom {
			if from.ConfigMapRef != nil && !c.exists("ConfigMap", from.ConfigMapRef.Name) {
				c.fail("%s: envFrom ConfigMap %s does not exist", cw, from.ConfigMapRef.Name)
			}
			if from.SecretRef != nil && !c.exists("Secret", from.SecretRef.Name) {
				c.fail("%s: envFrom Secret %s does not exist", cw, from.SecretRef.Name)
			}
		}
		for _, e := range ctr.Env {
			for _, msg := range validation.IsEnvVarName(e.Name) {
				c.fail("%s: env %q: %s", cw, e.Name, msg)
			}
			if e.ValueFrom == nil {
				continue
			}
			if r := e.ValueFrom.ConfigMapKeyRef; r != nil && !c.exists("ConfigMap", r.Name) {
				c.fail("%s: env %s: ConfigMap %s does not exist", cw, e.Name, r.Name)
			}
			if r := e.ValueFrom.SecretKeyRef; r != nil && !c.exists("Secret", r.Name) {
				c.fail("%s: env %s: Secret %s does not exist", cw, e.Name, r.Name)
			}
		}
		for name, probe := range map[string]*corev1.Probe{"startupProbe": ctr.StartupProbe, "readinessProbe": ctr.ReadinessProbe, "livenessProbe": ctr.LivenessProbe} {
			if probe == nil {
				if serving && name != "startupProbe" {
					c.fail("%s: no %s", cw, name)
				}
				continue
			}
			if probe.HTTPGet == nil {
				continue
			}
			if port := probe.HTTPGet.Port; port.Type == intstr.String {
				if _, ok := ports[port.StrVal]; !ok {
					c.fail("%s: %s port %q is not a declared container port", cw, name, port.StrVal)
				}
			}
		}
		if serving {
			req := ctr.Resources.Requests
			if req.Cpu().IsZero() || req.Memory().IsZero() {
				c.fail("%s: resources.requests needs cpu and memory (the HPA measures against the cpu request)", cw)
			}
			if ctr.Resources.Limits.Memory().IsZero() {
				c.fail("%s: no memory limit", cw)
			}
		}
	}
}

// Check validates the decoded objects of one directory against each other.
func Check(objects []Object, external map[string]bool) []string {
	c := &checker{byKey: map[string]Object{}, external: external, templates: map[string]*corev1.PodTemplateSpec{}}
	for _, o := range objects {
		key := o.Kind + "/" + o.Name
		if _, dup := c.byKey[key]; dup {
			c.fail("%s: defined twice", key)
		}
		c.byKey[key] = o
	}
	for key := range external {
		if _, dup := c.byKey[key]; dup {
			c.fail("%s: listed in EXTERNAL but also rendered", key)
		}
	}
	for _, o := range objects {
		switch obj := o.Obj.(type) {
		case *appsv1.Deployment:
			c.templates["Deployment/"+o.Name] = &obj.Spec.Template
		case *appsv1.DaemonSet:
			c.templates["DaemonSet/"+o.Name] = &obj.Spec.Template
		case *appsv1.StatefulSet:
			c.templates["StatefulSet/"+o.Name] = &obj.Spec.Template
		}
	}
	for _, o := range objects {
		where := o.Kind + "/" + o.Name
		if accessor, ok := o.Obj.(metav1.ObjectMetaAccessor); ok {
			c.names(where, *accessor.GetObjectMeta().(*metav1.ObjectMeta))
		}
		switch obj := o.Obj.(type) {
		case *appsv1.Deployment:
			c.selector(where, obj.Spec.Selector, &obj.Spec.Template)
			c.labels(where+" template", obj.Spec.Template.Labels)
			c.podSpec(where, &obj.Spec.Template.Spec, true)
		case *appsv1.DaemonSet:
			c.selector(where, obj.Spec.Selector, &obj.Spec.Template)
			c.podSpec(where, &obj.Spec.Template.Spec, false)
		case *appsv1.StatefulSet:
			c.selector(where, obj.Spec.Selector, &obj.Spec.Template)
			c.podSpec(where, &obj.Spec.Template.Spec, false)
		case *corev1.Service:
			c.service(where, obj)
		case *policyv1.PodDisruptionBudget:
			c.selector(where, obj.Spec.Selector, nil)
			if !c.selectsSomeTemplate(obj.Spec.Selector) {
				c.fail("%s: selects no pod template of this directory", where)
			}
		case *autoscalingv2.HorizontalPodAutoscaler:
			ref := obj.Spec.ScaleTargetRef
			if _, ok := c.templates[ref.Kind+"/"+ref.Name]; !ok {
				c.fail("%s: scaleTargetRef %s/%s does not exist", where, ref.Kind, ref.Name)
			}
			if obj.Spec.MinReplicas != nil && *obj.Spec.MinReplicas > obj.Spec.MaxReplicas {
				c.fail("%s: minReplicas %d > maxReplicas %d", where, *obj.Spec.MinReplicas, obj.Spec.MaxReplicas)
			}
		}
	}
	sort.Strings(c.problems)
	return c.problems
}

func (c *checker) selectsSomeTemplate(sel *metav1.LabelSelector) bool {
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return false
	}
	for _, t := range c.templates {
		if s.Matches(labels.Set(t.Labels)) {
			return true
		}
	}
	return false
}

func (c *checker) service(where string, svc *corev1.Service) {
	if len(svc.Spec.Selector) == 0 {
		return
	}
	sel := labels.SelectorFromSet(svc.Spec.Selector)
	var selected []*corev1.PodTemplateSpec
	for _, t := range c.templates {
		if sel.Matches(labels.Set(t.Labels)) {
			selected = append(selected, t)
		}
	}
	if len(selected) == 0 {
		c.fail("%s: selector %s selects no pod template of this directory", where, sel)
		return
	}
	for _, p := range svc.Spec.Ports {
		if p.TargetPort.Type != intstr.String {
			continue
		}
		found := false
		for _, t := range selected {
			for _, ctr := range t.Spec.Containers {
				for _, cp := range ctr.Ports {
					found = found || cp.Name == p.TargetPort.StrVal
				}
			}
		}
		if !found {
			c.fail("%s: port %s targets %q, which no selected container declares", where, p.Name, p.TargetPort.StrVal)
		}
	}
}

// Validate renders, decodes and checks one directory; it returns the object count.
func Validate(dir string) (int, []string) {
	objects, err := Render(dir)
	var problems []string
	if err != nil {
		problems = append(problems, strings.Split(err.Error(), "\n")...)
	}
	external, err := External(dir)
	if err != nil {
		problems = append(problems, err.Error())
	}
	problems = append(problems, Check(objects, external)...)
	return len(objects), problems
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: validate DIR...")
		os.Exit(2)
	}
	failed := false
	for _, dir := range os.Args[1:] {
		n, problems := Validate(dir)
		if len(problems) > 0 {
			failed = true
			fmt.Printf("FAIL %s: %d object(s), %d problem(s)\n", dir, n, len(problems))
			for _, p := range problems {
				fmt.Printf("  - %s\n", p)
			}
			continue
		}
		fmt.Printf("ok   %s: %d object(s) decoded strictly against k8s.io/api and cross-checked\n", dir, n)
	}
	if failed {
		os.Exit(1)
	}
}
