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
import { startTestGate } from '../helpers/gate.js';
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

describe('CLI against a running gate', () => {
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

  test('token, subscriber and stream commands change what the gate allows', async () => {
    const tokenChain = async () => {
      const r = await cli('token', 'create', '--config', file, '--app', 'TokApp', '--stream', 'stream1', '--expires-in', '600');
      assert.equal(r.code, 0, r.stderr);
      const t = JSON.parse(r.stdout) as { tokenId: string; streamId: string; type: string };
      assert.equal(t.streamId, 'stream1');
      assert.equal(t.type, 'play');
      assert.equal((await status(`${gate.url}/TokApp/streams/stream1.m3u8?token=${t.tokenId}`)).status, 200);
      const replay = await fetchUrl(`${gate.url}/TokApp/streams/stream1.m3u8?token=${t.tokenId}`, {}, fromAddress('127.0.0.2'));
      assert.equal(JSON.parse(replay.text).reason, 'token_used');
      const past = await cli('token', 'create', '--config', file, '--app', 'TokApp', '--stream', 'stream1', '--expire-date', String(Date.now()));
      assert.equal(past.code, 1);
      assert.match(past.stderr, /milliseconds/);
    };

    const subscriberChain = async () => {
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
    };

    const streamChain = async () => {
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
    };

    await Promise.all([tokenChain(), subscriberChain(), streamChain()]);
  });
});
