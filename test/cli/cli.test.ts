// The CLI against a running gate: `node --import tsx src/cli/main.ts …` writes to the same Redis
// (unique keyPrefix) and the gate sees the result. Three independent chains run in parallel to
// keep the many process start-ups short.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { request } from 'undici';
import { startTestOrigin, type TestOrigin } from '../helpers/origin.js';
import { fetchUrl, fromAddress } from '../helpers/player.js';
import { startTestGate, HASH_SECRET, HASH_SECRET_NEXT, JWT_SECRET, JWT_SECRET_NEXT } from '../helpers/gate.js';
import { jwtVerify } from 'jose';
import { hashToken } from '../../src/checks/hash-token.js';
import { missingTool } from '../helpers/tools.js';
import type { RunningGate } from '../../src/server.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const prefix = `sgtest-cli-${process.pid}-${Date.now()}`;
const B32 = 'JBSWY3DPEHPK3PXPJBSWY3DP';

const config = {
  store: { type: 'redis', redis: { url: 'redis://127.0.0.1:6379', keyPrefix: prefix } },
  apps: {
    TokApp: { play: { oneTimeToken: true } },
    TotpApp: { play: { totp: { enabled: true } } },
    RegApp: { publish: { acceptUndefinedStreams: false } },
  },
};

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: ROOT, timeout: 30_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

async function status(url: string, method = 'GET'): Promise<{ status: number; reason?: string }> {
  const r = await request(url, { method: method as 'GET', body: method === 'POST' ? 'v=0' : undefined });
  const text = await r.body.text();
  let reason: string | undefined;
  try {
    reason = (JSON.parse(text) as { reason?: string }).reason;
  } catch {
    reason = undefined;
  }
  return { status: r.statusCode, reason };
}

const oath = () => execFileSync('oathtool', ['--totp', '-b', B32, '--time-step-size=60s'], { encoding: 'utf8' }).trim();

// The three chains touch different apps, so they run concurrently (process start-ups dominate).
describe('CLI against a running gate', { concurrency: true }, () => {
  let origin: TestOrigin;
  let gate: RunningGate;
  let dir: string;
  let file: string;

  before(async () => {
    origin = await startTestOrigin();
    gate = await startTestGate({ ...config, origin: { url: origin.url } });
    dir = mkdtempSync(join(tmpdir(), 'sg-cli-'));
    file = join(dir, 'streamgate.yaml');
    writeFileSync(file, JSON.stringify(config)); // JSON is YAML
  });
  after(async () => {
    await gate.close();
    await origin.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('token create mints a one-time token the gate accepts once (per client)', async () => {
    const r = await cli('token', 'create', '--config', file, '--app', 'TokApp', '--stream', 'stream1', '--expires-in', '600');
    assert.equal(r.code, 0, r.stderr);
    const t = JSON.parse(r.stdout) as { tokenId: string; streamId: string; type: string };
    assert.equal(t.streamId, 'stream1');
    assert.equal(t.type, 'play');
    assert.equal((await status(`${gate.url}/TokApp/streams/stream1.m3u8?token=${t.tokenId}`)).status, 200);
    // Another client replaying it is refused (its own client may re-present it).
    const replay = await fetchUrl(`${gate.url}/TokApp/streams/stream1.m3u8?token=${t.tokenId}`, {}, fromAddress('127.0.0.2'));
    assert.equal(JSON.parse(replay.text).reason, 'token_used');
    const past = await cli('token', 'create', '--config', file, '--app', 'TokApp', '--stream', 'stream1', '--expire-date', String(Date.now()));
    assert.equal(past.code, 1);
    assert.match(past.stderr, /milliseconds/);
  });

  test('subscriber add|list|block|delete change what the gate allows (oathtool codes)', { skip: missingTool('oathtool') }, async () => {
    const play = () => status(`${gate.url}/TotpApp/streams/stream1.m3u8?subscriberId=viewer1&subscriberCode=${oath()}`);
    const add = await cli('subscriber', 'add', '--config', file, '--app', 'TotpApp', '--stream', 'stream1', '--subscriber', 'viewer1', '--secret', B32, '--limit', '10');
    assert.equal(add.code, 0, add.stderr);
    assert.equal((await play()).status, 200);

    const totp = await cli('token', 'totp', '--config', file, '--app', 'TotpApp', '--stream', 'stream1', '--subscriber', 'viewer1');
    assert.equal(totp.code, 0, totp.stderr);
    assert.match(totp.stdout.trim(), /^\d{6}$/);

    const list = await cli('subscriber', 'list', '--config', file, '--app', 'TotpApp', '--stream', 'stream1');
    assert.equal(list.code, 0, list.stderr);
    assert.equal((JSON.parse(list.stdout.trim()) as { subscriberId: string }).subscriberId, 'viewer1');
    assert.ok(!list.stdout.includes(B32), 'list never prints the secret');

    assert.equal((await cli('subscriber', 'block', '--config', file, '--app', 'TotpApp', '--stream', 'stream1', '--subscriber', 'viewer1', '--seconds', '3600', '--type', 'play')).code, 0);
    assert.equal((await play()).reason, 'subscriber_blocked');
    assert.equal((await cli('subscriber', 'block', '--config', file, '--app', 'TotpApp', '--stream', 'stream1', '--subscriber', 'viewer1', '--seconds', '0')).code, 0);
    assert.equal((await play()).status, 200);

    assert.equal((await cli('subscriber', 'delete', '--config', file, '--app', 'TotpApp', '--stream', 'stream1', '--subscriber', 'viewer1')).code, 0);
    assert.equal((await play()).status, 401);

    const bad = await cli('subscriber', 'add', '--config', file, '--app', 'TotpApp', '--stream', 'stream1', '--subscriber', 'viewer2', '--secret', 'NOTBASE32');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /Secret code is not multiple of 8 bytes length/);
  });

  test('stream register|show|unregister change what the gate allows', async () => {
    const publish = () => status(`${gate.url}/RegApp/whip/cam1`, 'POST');
    assert.equal((await publish()).reason, 'stream_not_registered');
    assert.equal((await cli('stream', 'register', '--config', file, '--app', 'RegApp', '--stream', 'cam1', '--name', 'Door')).code, 0);
    assert.equal((await publish()).status, 200);
    const show = await cli('stream', 'show', '--config', file, '--app', 'RegApp', '--stream', 'cam1');
    assert.equal(show.code, 0);
    assert.equal((JSON.parse(show.stdout) as { name: string }).name, 'Door');
    // The management API reads the same registry.
    const api = await request(`${gate.adminUrl}/RegApp/rest/v2/broadcasts/cam1`);
    assert.equal(((await api.body.json()) as { name: string }).name, 'Door');
    assert.equal((await cli('stream', 'unregister', '--config', file, '--app', 'RegApp', '--stream', 'cam1')).code, 0);
    assert.equal((await publish()).status, 403);
    assert.equal((await cli('stream', 'show', '--config', file, '--app', 'RegApp', '--stream', 'cam1')).code, 1);
    assert.equal((await cli('stream', 'register', '--config', file, '--app', 'RegApp', '--stream', 'a/b')).code, 1);
  });
});

describe('CLI usage', () => {
  test('--help on every command and sub-command prints its help to stdout and exits 0', async () => {
    const asks = [['--help'], ['help'], ['serve', '--help'], ['check-config', '-h'], ['demo', '--help'], ['token', '--help'], ['token', 'jwt', '--help'], ['subscriber', '--help'], ['stream', '-h'], ['stream', 'show', '--help']];
    const results = await Promise.all(asks.map((args) => cli(...args)));
    results.forEach((r, i) => {
      assert.equal(r.code, 0, `${asks[i]!.join(' ')}: ${r.stderr}`);
      assert.match(r.stdout, /usage/, asks[i]!.join(' '));
    });
  });

  test('usage errors exit 2 with a message naming the problem', async () => {
    const cases: [string[], RegExp][] = [
      [[], /usage/],
      [['nope'], /unknown command 'nope'/],
      [['token'], /sub-command is required/],
      [['token', 'mint'], /unknown token command 'mint'/],
      [['token', 'jwt', '--bogus'], /bogus/],
      [['token', 'jwt', 'extra', 'words'], /unexpected argument 'extra'/],
      [['serve', 'stray'], /stray/],
    ];
    const results = await Promise.all(cases.map(([args]) => cli(...args)));
    results.forEach((r, i) => {
      const [args, message] = cases[i]!;
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.stdout + r.stderr, message, args.join(' '));
    });
  });

  test('token hash|jwt sign with the first secret of a rotation list', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-cli-rot-'));
    try {
      const file = join(dir, 'rot.yaml');
      writeFileSync(file, JSON.stringify({ apps: { RotApp: { play: { hash: { enabled: true, secret: [HASH_SECRET_NEXT, HASH_SECRET] }, jwt: { enabled: true, secret: [JWT_SECRET_NEXT, JWT_SECRET] } } } } }));
      const [hash, jwt] = await Promise.all([
        cli('token', 'hash', '--config', file, '--app', 'RotApp', '--stream', 'stream1'),
        cli('token', 'jwt', '--config', file, '--app', 'RotApp', '--stream', 'stream1'),
      ]);
      assert.equal(hash.code, 0, hash.stderr);
      assert.equal(hash.stdout.trim(), hashToken('stream1', 'play', HASH_SECRET_NEXT));
      assert.equal(jwt.code, 0, jwt.stderr);
      assert.equal((await jwtVerify(jwt.stdout.trim(), new TextEncoder().encode(JWT_SECRET_NEXT))).payload.streamId, 'stream1');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('every sub-command the top-level usage advertises exists', async () => {
    const usage = (await cli('--help')).stdout;
    const advertised = [...usage.matchAll(/^ {2}([a-z-]+) ([a-z]+(?:\|[a-z]+)+) /gm)].flatMap(([, command, subs]) => subs!.split('|').map((sub) => [command!, sub]));
    assert.ok(advertised.some(([c, s]) => c === 'stream' && s === 'show'), usage);
    assert.ok(advertised.length >= 10, usage);
    // Without options a real sub-command fails on what it needs (exit 1); an unknown one is a usage error (2).
    const results = await Promise.all(advertised.map(([command, sub]) => cli(command!, sub!)));
    results.forEach((r, i) => {
      assert.equal(r.code, 1, `${advertised[i]!.join(' ')}: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /unknown/, advertised[i]!.join(' '));
    });
  });
});
