// Start-up guardrails: weak or placeholder secrets and a per-pod memory store with several replicas
// are refused, each with the key and its file:line. Defends against a deployment that starts
// "fine" with a publicly known session/hash secret (anyone can then mint grants and tokens), and
// against one-time tokens silently becoming once-per-pod.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { HASH_SECRET, JWT_SECRET, SESSION_SECRET, TOTP_SECRET } from '../helpers/gate.js';

function issuesOf(config: unknown, opts: Parameters<typeof parseConfig>[2] = {}, env: NodeJS.ProcessEnv = {}) {
  try {
    parseConfig(JSON.stringify(config), env, opts);
    return [];
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.issues;
  }
}

const strong = {
  session: { secrets: [SESSION_SECRET] },
  apps: {
    LiveApp: {
      play: { hash: { enabled: true, secret: HASH_SECRET }, jwt: { enabled: true, secret: JWT_SECRET }, totp: { enabled: true, secret: TOTP_SECRET } },
      rest: { jwt: { secret: JWT_SECRET } },
    },
  },
};

/** Every secret-looking literal our own examples publish: config.example.yaml defaults, the example Secret, chart CI values. */
function shippedPlaceholders(): string[] {
  const out = new Set<string>();
  const example = readFileSync('config.example.yaml', 'utf8');
  for (const m of example.matchAll(/\$\{[A-Z_]*SECRET[A-Z_]*:-([^}]+)\}/g)) out.add(m[1]!);
  const secret = parseYaml(readFileSync('deploy/kubernetes/base/secret.example.yaml', 'utf8')) as { stringData: Record<string, string> };
  for (const [k, v] of Object.entries(secret.stringData)) if (k.includes('SECRET')) for (const s of v.split(',')) out.add(s);
  for (const file of ['helm/streamgate/ci/hpa-pdb-values.yaml', 'helm/streamgate/ci/redis-standalone-values.yaml', 'helm/streamgate/ci/redis-sentinel-values.yaml']) {
    for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
      const secrets = (doc.toJS() as { secrets?: Record<string, string> } | null)?.secrets ?? {};
      for (const [k, v] of Object.entries(secrets)) if (k.includes('SECRET') && v) for (const s of v.split(',')) out.add(s);
    }
    for (const m of readFileSync(file, 'utf8').matchAll(/--from-literal=[A-Z_]*SECRET[A-Z_]*=(\S+)/g)) for (const s of m[1]!.split(',')) out.add(s);
  }
  return [...out];
}

test('strong secrets start; the test constants are strong', () => {
  assert.deepEqual(issuesOf(strong), []);
});

test('every placeholder shipped in the examples is refused wherever a secret goes, naming the key', () => {
  const placeholders = shippedPlaceholders();
  assert.ok(placeholders.length >= 6, `found only ${placeholders.join(', ')}`);
  for (const p of [...placeholders, 'changeme', 'CHANGE_ME', 'replace-me-with-a-long-random-string-0123456789', 'your-secret-key-goes-here-0123456789abcdef']) {
    // The session secret's length is a schema rule (checked before the guardrails): test it apart.
    const sessionKeys = issuesOf({ session: { secrets: [SESSION_SECRET, p] } }).map((i) => i.path);
    assert.ok(sessionKeys.includes('session.secrets[1]'), `"${p}" accepted as a session secret`);
    const keys = issuesOf({
      session: { secrets: [SESSION_SECRET] },
      apps: { A: { play: { hash: { enabled: true, secret: p }, jwt: { enabled: true, secret: p } }, publish: { totp: { enabled: true, secret: p } }, rest: { jwt: { secret: p } } } },
    }).map((i) => i.path);
    for (const key of ['apps.A.play.hash.secret', 'apps.A.play.jwt.secret', 'apps.A.publish.totp.secret', 'apps.A.rest.jwt.secret']) {
      assert.ok(keys.includes(key), `"${p}" accepted at ${key} (issues: ${keys.join(', ')})`);
    }
  }
});

test('empty, short and low-variety secrets are refused with the reason', () => {
  const msg = (secret: string, where: 'hash' | 'jwt') =>
    issuesOf({ apps: { A: { play: { [where]: { enabled: true, secret } } } } }).find((i) => i.path === `apps.A.play.${where}.secret`)?.message ?? '';
  assert.match(msg(' ', 'hash'), /empty/);
  assert.match(msg('k3Y-0123456789', 'hash'), /too short: at least 16/);
  assert.match(msg('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'jwt'), /distinct characters/);
  assert.match(msg('abababababababababababab', 'hash'), /distinct characters/);
  // Factors that are off do not use their secret: the example config's empty JWT secret is fine.
  assert.deepEqual(issuesOf({ apps: { A: { play: { jwt: { enabled: false, secret: '' } } } } }), []);
});

test('every secret of a rotation list is checked, each reported with its index', () => {
  const paths = issuesOf({ apps: { A: { play: { hash: { enabled: true, secret: [HASH_SECRET, 'changeme'] }, jwt: { enabled: true, secret: ['short', JWT_SECRET] } } } } }).map((i) => i.path);
  assert.deepEqual(paths.sort(), ['apps.A.play.hash.secret[1]', 'apps.A.play.jwt.secret[0]']);
});

test('placeholder Redis passwords are refused, real ones pass', () => {
  const paths = (redis: Record<string, unknown>) => issuesOf({ store: { type: 'redis', redis } }).map((i) => i.path);
  assert.deepEqual(paths({ url: 'redis://:PLACEHOLDER-redis-password@redis:6379/0' }), ['store.redis.url']);
  assert.deepEqual(paths({ url: 'redis://:ci-only-redis-password@redis:6379/0' }), ['store.redis.url']);
  assert.deepEqual(paths({ sentinels: [{ host: 's', port: 26379 }], sentinelName: 'm', password: 'changeme' }), ['store.redis.password']);
  assert.deepEqual(paths({ url: `redis://:${encodeURIComponent(HASH_SECRET)}@redis:6379/0` }), []);
});

test('demo mode is exempt (it generates random secrets)', () => {
  assert.deepEqual(issuesOf({ apps: { A: { play: { hash: { enabled: true, secret: 'changeme' } } } } }, { allowWeakSecrets: true }), []);
});

test('the memory store is refused with more than one replica (option or STREAMGATE_REPLICAS), redis is not', () => {
  const memory = { session: { secrets: [SESSION_SECRET] } };
  assert.deepEqual(issuesOf(memory, { replicas: 1 }), []);
  assert.deepEqual(issuesOf(memory), []);
  const three = issuesOf(memory, { replicas: 3 });
  assert.equal(three.length, 1);
  assert.equal(three[0]!.path, 'store.type');
  assert.match(three[0]!.message, /3 replicas.*redis/);
  assert.deepEqual(issuesOf(memory, {}, { STREAMGATE_REPLICAS: '2' }).map((i) => i.path), ['store.type']);
  assert.deepEqual(issuesOf(memory, {}, { STREAMGATE_REPLICAS: 'two' }).map((i) => i.path), ['STREAMGATE_REPLICAS']);
  assert.deepEqual(issuesOf({ ...memory, store: { type: 'redis', redis: { url: 'redis://127.0.0.1:6379' } } }, { replicas: 5 }), []);
});

test('errors carry file:line:column of the key', () => {
  const text = [
    'listen:', //                       1
    '  port: 99999', //                 2
    'apps:', //                         3
    '  LiveApp:', //                    4
    '    play:', //                     5
    '      hash:', //                   6
    '        enabled: true', //         7
    '        secret: changeme', //      8
    '    typo: 1', //                   9
    'session:', //                      10
    `  secrets: ["${SESSION_SECRET}", short]`, // 11
  ].join('\n');
  let err: ConfigError | undefined;
  try {
    parseConfig(text, {}, { source: 'gate.yaml' });
  } catch (e) {
    err = e as ConfigError;
  }
  assert.ok(err instanceof ConfigError);
  const where = Object.fromEntries(err.issues.map((i) => [i.path, `${i.file}:${i.line}:${i.column}`]));
  assert.equal(where['listen.port'], 'gate.yaml:2:3');
  assert.equal(where['apps.LiveApp'], 'gate.yaml:9:5'); // the unknown key itself
  assert.equal(where['session.secrets[1]'], `gate.yaml:11:${14 + SESSION_SECRET.length + 3}`);
  assert.match(err.message, /gate\.yaml:2:3: listen\.port: /);
  // Schema-valid but weak: reported in a second pass, still with its line.
  try {
    parseConfig(text.replace('99999', '8080').replace('    typo: 1\n', '').replace(', short', ''), {}, { source: 'gate.yaml' });
    assert.fail('accepted a placeholder');
  } catch (e) {
    const i = (e as ConfigError).issues.find((x) => x.path === 'apps.LiveApp.play.hash.secret');
    assert.equal(`${i?.line}:${i?.column}`, '8:9');
  }
  // YAML syntax errors point at the spot too.
  try {
    parseConfig('listen:\n  port: [1,\n', {}, { source: 'gate.yaml' });
    assert.fail('accepted broken YAML');
  } catch (e) {
    assert.match((e as ConfigError).message, /gate\.yaml:\d+:\d+: \(yaml\)/);
  }
});

test('check-config refuses the example placeholders and --replicas 3 with memory, with file:line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sg-guard-'));
  try {
    const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
      spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'check-config', ...args], { encoding: 'utf8', env: { ...process.env, SESSION_SECRET: '', HASH_SECRET: '', ...env } });
    const example = run(['--config', 'config.example.yaml']);
    assert.equal(example.status, 1);
    assert.match(example.stderr, /config\.example\.yaml:\d+:\d+: session\.secrets\[0\]: is a placeholder/);
    assert.match(example.stderr, /config\.example\.yaml:\d+:\d+: apps\.LiveApp\.play\.hash\.secret: is a placeholder/);
    const withSecrets = { SESSION_SECRET, HASH_SECRET };
    assert.equal(run(['--config', 'config.example.yaml'], withSecrets).status, 0);
    const three = run(['--config', 'config.example.yaml', '--replicas', '3'], withSecrets);
    assert.equal(three.status, 1);
    assert.match(three.stderr, /config\.example\.yaml:\d+:\d+: store\.type: "memory" cannot serve 3 replicas/);
    assert.equal(run(['--config', 'config.example.yaml'], { ...withSecrets, STREAMGATE_REPLICAS: '3' }).status, 1);
    assert.equal(run(['--config', 'config.example.yaml', '--replicas', '3'], { ...withSecrets, STREAMGATE_REDIS_URL: 'redis://127.0.0.1:6379' }).status, 0);
    // serve refuses too, before listening.
    const file = join(dir, 'weak.yaml');
    writeFileSync(file, 'origin: { url: "http://127.0.0.1:9" }\nlisten: { port: 0 }\nadmin: { port: 0 }\nsession: { secrets: ["change-me-to-a-random-string-of-32-chars-or-more"] }\n');
    const serve = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--config', file], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(serve.status, 1);
    assert.match(serve.stderr, /weak\.yaml:4:\d+: session\.secrets\[0\]: is a placeholder/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
