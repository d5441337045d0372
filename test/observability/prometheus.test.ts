// What Prometheus and Grafana read: /metrics of a running gate passes `promtool check metrics`;
// the shipped alert rules pass `promtool check rules` and their unit tests; every metric the rules
// and the dashboard query is one the gate exports. promtool comes from the Debian package
// `prometheus`; without it the promtool checks skip (the metric-name check always runs).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { startTestGate, HASH_SECRET } from '../helpers/gate.js';
import { startTestOrigin, type TestOrigin } from '../helpers/origin.js';
import { hashToken } from '../../src/checks/hash-token.js';
import type { RunningGate } from '../../src/server.js';

const RULES = 'deploy/prometheus/streamgate-rules.yaml';
const RULE_TESTS = 'deploy/prometheus/streamgate-rules.test.yaml';
const DASHBOARD = 'deploy/grafana/streamgate-dashboard.json';
const promtool = spawnSync('promtool', ['--version']).status === 0;
const noPromtool = promtool ? false : 'promtool not installed (Debian package `prometheus`): skipped';

/** Metric names a PromQL expression selects (functions, keywords, labels and durations removed). */
export function metricNames(expr: string): string[] {
  const s = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const m of s.matchAll(/(?<![\w:.$])([a-zA-Z_:][\w:]*)(?![\w:])(?!\s*\()/g)) {
    if (!['and', 'or', 'unless', 'offset', 'bool', 'by', 'without', 'on', 'ignoring', 'inf', 'nan'].includes(m[1]!.toLowerCase())) names.add(m[1]!);
  }
  return [...names];
}

/** Sample names a Prometheus text exposition declares (histograms: _bucket, _sum, _count). */
function exportedNames(text: string): Set<string> {
  const out = new Set<string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    out.add(m[1]!);
    if (m[2] === 'histogram') for (const s of ['_bucket', '_sum', '_count']) out.add(m[1]! + s);
    if (m[2] === 'summary') for (const s of ['_sum', '_count']) out.add(m[1]! + s);
  }
  return out;
}

function dashboardExprs(): string[] {
  const dash = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: { targets?: { expr: string }[] }[]; templating: { list: { query?: unknown }[] } };
  const exprs = dash.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
  for (const v of dash.templating.list) {
    const q = typeof v.query === 'string' ? v.query : (v.query as { query?: string } | undefined)?.query;
    const m = q ? /label_values\(\s*([a-zA-Z_:][\w:]*)/.exec(q) : null;
    if (m) exprs.push(m[1]!);
  }
  return exprs;
}

function ruleExprs(): { exprs: string[]; recorded: Set<string> } {
  const doc = parseYaml(readFileSync(RULES, 'utf8')) as { groups: { rules: { expr: string; record?: string }[] }[] };
  const rules = doc.groups.flatMap((g) => g.rules);
  return { exprs: rules.map((r) => r.expr), recorded: new Set(rules.flatMap((r) => (r.record ? [r.record] : []))) };
}

describe('Prometheus and Grafana artefacts', () => {
  let origin: TestOrigin;
  let gate: RunningGate;
  let exposition: string;
  before(async () => {
    origin = await startTestOrigin();
    // Default (process) metrics on, as in production; a little traffic on the HTTP doors.
    gate = await startTestGate(
      { origin: { url: origin.url }, apps: { LiveApp: { play: { hash: { enabled: true, secret: HASH_SECRET } } }, OpenApp: {} } },
      { defaultMetrics: true },
    );
    await (await fetch(`${gate.url}/LiveApp/streams/stream1.mp4?token=${hashToken('stream1', 'play', HASH_SECRET)}`)).arrayBuffer();
    await (await fetch(`${gate.url}/LiveApp/streams/stream1.mp4`)).arrayBuffer();
    await (await fetch(`${gate.url}/verify`, { headers: { 'x-original-uri': '/OpenApp/streams/s.m3u8' } })).arrayBuffer();
    exposition = await (await fetch(`${gate.adminUrl}/metrics`)).text();
  });
  after(async () => {
    await gate.close();
    await origin.close();
  });

  test('process metrics are the standard unprefixed ones, with no gauge named _total; build info is there', () => {
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_p99_seconds', 'nodejs_heap_size_used_bytes', 'nodejs_gc_duration_seconds']) {
      assert.match(exposition, new RegExp(`^# TYPE ${name} `, 'm'), `${name} missing`);
    }
    assert.doesNotMatch(exposition, /^# TYPE streamgate_(process|nodejs)_/m);
    assert.doesNotMatch(exposition, /^# TYPE \S+_total (gauge|histogram|summary)$/m);
    assert.match(exposition, /^streamgate_build_info\{version="[^"]+",node="[^"]+"\} 1$/m);
  });

  test('promtool check metrics: /metrics of a running gate is clean', { skip: noPromtool }, () => {
    const r = spawnSync('promtool', ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
    assert.equal(r.status, 0, `promtool check metrics:\n${r.stdout}${r.stderr}`);
  });

  test('promtool check rules and promtool test rules pass on the shipped alert rules', { skip: noPromtool }, () => {
    const check = spawnSync('promtool', ['check', 'rules', RULES], { encoding: 'utf8' });
    assert.equal(check.status, 0, check.stdout + check.stderr);
    const unit = spawnSync('promtool', ['test', 'rules', RULE_TESTS], { encoding: 'utf8' });
    assert.equal(unit.status, 0, unit.stdout + unit.stderr);
    assert.match(unit.stdout + unit.stderr, /SUCCESS/);
  });

  test('every metric the alert rules and the Grafana dashboard query is exported by the gate', () => {
    const exported = exportedNames(exposition);
    const { exprs, recorded } = ruleExprs();
    const used = new Set([...exprs, ...dashboardExprs()].flatMap(metricNames));
    assert.ok(used.size >= 15, `only ${used.size} metric names found: the extraction is broken`);
    const missing = [...used].filter((n) => !recorded.has(n) && !exported.has(n));
    assert.deepEqual(missing, [], `queried but not exported: ${missing.join(', ')}`);
    // The extraction itself: names only, never functions, labels, keywords or durations.
    assert.deepEqual(
      metricNames('histogram_quantile(0.99, sum by (door, le) (rate(a_bucket{door="x", job=~"$job"}[$__rate_interval]))) > 4 * (b:c:rate5m offset 1h) and on (job) d'),
      ['a_bucket', 'b:c:rate5m', 'd'],
    );
    assert.ok(!exported.has('streamgate_no_such_metric'));
  });
});
