// deploy/kubernetes: the kustomize base and every overlay render with `kubectl kustomize`, every
// object is valid against the Kubernetes schemas, every config.yaml is accepted by streamgate, and
// no manifest is left out of every kustomization.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { findTool } from '../helpers/tools.js';
import { parseManifests, validateObject, type K8sObject } from '../helpers/k8s.js';

const ROOT = 'deploy/kubernetes';
const KUBECTL = findTool('kubectl') ?? undefined;
const overlays = readdirSync(join(ROOT, 'overlays')).sort();

function kustomize(dir: string): K8sObject[] {
  const r = spawnSync(KUBECTL!, ['kustomize', dir], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return parseManifests(r.stdout);
}

type Container = { name: string; env?: { name: string; value?: string }[] };
const deploymentOf = (objs: K8sObject[]) => objs.find((o) => o.kind === 'Deployment')!;
const gateEnv = (objs: K8sObject[]) => (deploymentOf(objs).spec as { template: { spec: { containers: Container[] } } }).template.spec.containers[0]!.env ?? [];
const configText = (objs: K8sObject[]) => String((objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'streamgate')!.data as Record<string, string>)['config.yaml']);

/** streamgate's validator on the rendered config, with strong stand-ins for the Secret's values. */
function checkConfig(objs: K8sObject[]): void {
  const env: NodeJS.ProcessEnv = {};
  for (const e of gateEnv(objs)) env[e.name] = e.value ?? (e.name === 'REDIS_URL' ? 'redis://redis.redis.svc:6379/0' : randomBytes(36).toString('base64'));
  parseConfig(configText(objs), env, { source: 'config.yaml' });
}

describe('kustomize base and overlays', { skip: KUBECTL ? false : 'kubectl not installed (not a Debian package; .ci/run fetches one from npm): kustomize overlays not rendered' }, () => {
  for (const dir of [ROOT, ...overlays.map((o) => join(ROOT, 'overlays', o))]) {
    test(`${dir} renders, every object valid, config accepted`, async () => {
      const objs = kustomize(dir);
      for (const o of objs) await validateObject(o);
      for (const kind of ['Namespace', 'ConfigMap', 'Deployment', 'Service', 'PodDisruptionBudget', 'NetworkPolicy']) assert.ok(objs.some((o) => o.kind === kind), `no ${kind}`);
      assert.ok(!objs.some((o) => o.kind === 'Secret'), 'a placeholder Secret would be applied');
      checkConfig(objs);
    });
  }

  test('overlays change only what they say: Sentinel swaps store only, HPA owns the replica count', () => {
    const base = kustomize(ROOT);
    const sentinel = kustomize(join(ROOT, 'overlays', 'redis-sentinel'));
    const strip = (text: string) => {
      const c = parseYaml(text) as Record<string, unknown>;
      delete c.store;
      return c;
    };
    assert.deepEqual(strip(configText(sentinel)), strip(configText(base)), 'the Sentinel config drifted from the base beyond `store`');
    assert.ok((parseYaml(configText(sentinel)) as { store: { redis: { sentinels?: unknown[] } } }).store.redis.sentinels?.length);
    assert.deepEqual(gateEnv(sentinel).map((e) => e.name).filter((n) => n.startsWith('REDIS')), ['REDIS_PASSWORD']);
    const hpa = kustomize(join(ROOT, 'overlays', 'hpa'));
    assert.equal((deploymentOf(hpa).spec as { replicas?: number }).replicas, undefined);
    assert.equal((deploymentOf(base).spec as { replicas?: number }).replicas, 3);
    const max = (hpa.find((o) => o.kind === 'HorizontalPodAutoscaler')!.spec as { maxReplicas: number }).maxReplicas;
    assert.equal(gateEnv(hpa).find((e) => e.name === 'STREAMGATE_REPLICAS')?.value, String(max));
  });

  test('every manifest under deploy/kubernetes belongs to a kustomization (the example Secret excepted)', () => {
    const listed = new Set<string>();
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const f of readdirSync(dir)) {
        const p = join(dir, f);
        if (statSync(p).isDirectory()) walk(p);
        else if (f === 'kustomization.yaml') {
          const k = parseYaml(readFileSync(p, 'utf8')) as { resources?: string[]; patches?: { path?: string }[] };
          for (const r of [...(k.resources ?? []), ...(k.patches ?? []).flatMap((x) => (x.path ? [x.path] : []))]) listed.add(relative('.', join(dir, r)));
        } else if (f.endsWith('.yaml')) files.push(relative('.', p));
      }
    };
    walk(ROOT);
    const orphans = files.filter((f) => !listed.has(f) && !f.endsWith('secret.example.yaml'));
    assert.deepEqual(orphans, []);
  });
});
