/** The Prometheus rules and the Grafana dashboard's queries, and the metric names in PromQL. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { PROJECT_ROOT } from '../../src/paths';

export const path = (...parts: string[]): string => join(PROJECT_ROOT, ...parts);
export const read = (...parts: string[]): string => readFileSync(path(...parts), 'utf8');

export interface Rule {
  alert?: string;
  record?: string;
  expr: string;
}
export const ruleFiles = readdirSync(path('prometheus', 'rules')).filter((f) => f.endsWith('.yml'));
export const rules: Rule[] = ruleFiles.flatMap(
  (f) => (parseYaml(read('prometheus', 'rules', f)) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules),
);
export const recorded = new Set(rules.flatMap((r) => (r.record === undefined ? [] : [r.record])));

export interface Panel {
  title?: string;
  datasource?: { uid?: string };
  targets?: { expr?: string; datasource?: { uid?: string } }[];
  panels?: Panel[];
}
export const dashboard = JSON.parse(read('grafana', 'dashboards', 'recoscope.json')) as { panels: Panel[] };
export const allPanels = (ps: Panel[]): Panel[] => ps.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
export const dashboardExprs = allPanels(dashboard.panels).flatMap((p) => (p.targets ?? []).flatMap((t) => (t.expr === undefined ? [] : [t.expr])));

export const KEYWORDS = new Set(['and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'inf', 'nan']);

/** Metric names in a PromQL expression: identifiers that are not functions, keywords, labels or durations. */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""') // label values
    .replace(/\{[^}]*\}/g, '') // label matchers
    .replace(/\[[^\]]*\]/g, '') // range durations ([5m], [$__rate_interval])
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '') // label lists
    .replace(/\$\w+/g, ''); // Grafana variables
  const names: string[] = [];
  for (const m of stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*(\s*\()?/g)) {
    const [token, call] = [m[0].replace(/\s*\($/, ''), m[1]];
    if (call !== undefined || KEYWORDS.has(token.toLowerCase())) continue;
    names.push(token);
  }
  return names;
}

