// Defends against: guessing a subscriber's 6-digit TOTP code (with an app secret any subscriberId
// works, so the code is a PIN for the stream). Before: nothing limited wrong codes, one replica
// evaluated thousands of guesses a second. Now guesses are counted in the store before they are
// checked, per (app, subscriber) and per client address, across replicas, and lock out.
// The tight loop below measures how many guesses the gates actually *evaluated* (401) rather than
// refused unevaluated (429) — the figure an attacker cares about.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { startTestGate, TOTP_SECRET } from '../helpers/gate.js';
import { startTestOrigin, type TestOrigin } from '../helpers/origin.js';
import type { RunningGate } from '../../src/server.js';
import { antmediaDerivedKey, totpCode } from '../../src/checks/totp-subscriber.js';

const prefix = `sgbrute-${process.pid}-${Date.now()}`;
const PER_SUBSCRIBER = 5;
const PER_IP = 20;

interface Tally {
  evaluated: number; // 401: the code was checked and was wrong
  refused: number; // 429: locked out, not checked
  other: Map<number, number>;
  elapsedMs: number;
}

async function guess(gate: RunningGate, sid: string, code: string, ip: string): Promise<{ status: number; retryAfter: string | undefined; body: string }> {
  const r = await request(`${gate.url}/live/streams/stream1.m3u8?subscriberId=${encodeURIComponent(sid)}&subscriberCode=${code}`, {
    headers: { 'x-forwarded-for': ip },
  });
  const body = await r.body.text();
  return { status: r.statusCode, retryAfter: r.headers['retry-after'] as string | undefined, body };
}

/** `concurrency` parallel loops for `ms`, alternating replicas, each sending wrong codes. */
async function tightLoop(gates: RunningGate[], ms: number, concurrency: number, pick: (i: number) => { sid: string; ip: string }): Promise<Tally> {
  const tally: Tally = { evaluated: 0, refused: 0, other: new Map(), elapsedMs: 0 };
  const t0 = Date.now();
  let n = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() - t0 < ms) {
        const i = n++;
        const { sid, ip } = pick(i);
        const code = String(i % 1_000_000).padStart(6, '0');
        const r = await guess(gates[i % gates.length]!, sid, code, ip);
        if (r.status === 401) tally.evaluated++;
        else if (r.status === 429) tally.refused++;
        else tally.other.set(r.status, (tally.other.get(r.status) ?? 0) + 1);
      }
    }),
  );
  tally.elapsedMs = Date.now() - t0;
  return tally;
}

describe('TOTP brute force across two replicas', () => {
  let origin: TestOrigin;
  let gates: RunningGate[];
  const config = (p: string, attempts: Record<string, unknown>) => ({
    origin: { url: origin.url },
    // The test plays many client addresses through X-Forwarded-For, so loopback is a configured proxy.
    trustedProxies: ['127.0.0.1/32'],
    store: { type: 'redis', redis: { url: 'redis://127.0.0.1:6379', keyPrefix: p } },
    limits: { attempts },
    apps: { live: { play: { totp: { enabled: true, secret: TOTP_SECRET, window: 1 } } } },
  });

  before(async () => {
    origin = await startTestOrigin();
    const cfg = config(prefix, { perSubscriber: PER_SUBSCRIBER, perIp: PER_IP, lockoutSeconds: 2, maxLockoutSeconds: 8 });
    gates = [await startTestGate(cfg), await startTestGate(cfg)];
  });
  after(async () => {
    await Promise.all(gates.map((g) => g.close()));
    await origin.close();
  });

  it('evaluates at most perSubscriber guesses of one subscriber, whatever the address, then refuses with 429', async () => {
    // Every guess from a different address: only the per-subscriber count can stop this.
    const t = await tightLoop(gates, 1500, 16, (i) => ({ sid: 'alice', ip: `10.1.${(i >> 8) & 255}.${i & 255}` }));
    const perMinute = (t.evaluated / t.elapsedMs) * 60_000;
    console.log(`# subscriber loop: ${t.evaluated} evaluated, ${t.refused} refused in ${t.elapsedMs} ms (${perMinute.toFixed(1)} evaluated/min)`);
    assert.equal(t.other.size, 0, `unexpected statuses ${[...t.other]}`);
    assert.ok(t.evaluated <= PER_SUBSCRIBER, `evaluated ${t.evaluated} guesses, bound ${PER_SUBSCRIBER}`);
    assert.ok(t.refused > 100, 'the loop kept going and was refused');
  });

  it('refuses a correct code during the lockout, with Retry-After, and accepts it after', async () => {
    const code = totpCode(antmediaDerivedKey(TOTP_SECRET, 'alice', 'stream1', 'play'), 60, Date.now());
    const r = await guess(gates[0]!, 'alice', code, '10.9.9.9');
    assert.equal(r.status, 429);
    assert.deepEqual(JSON.parse(r.body), { error: 'too_many_requests', reason: 'too_many_attempts' });
    const wait = Number(r.retryAfter);
    assert.ok(wait >= 1 && wait <= 2, `Retry-After ${r.retryAfter}`);
    await sleep(wait * 1000 + 100);
    const ok = await guess(gates[1]!, 'alice', totpCode(antmediaDerivedKey(TOTP_SECRET, 'alice', 'stream1', 'play'), 60, Date.now()), '10.9.9.9');
    assert.equal(ok.status, 200, 'the lockout ended');
  });

  it('doubles the next lockout of the same subscriber', async () => {
    // The correct code above was refunded: five more misses lock alice out again, for 2 × 2 s.
    for (let i = 0; i < PER_SUBSCRIBER; i++) assert.equal((await guess(gates[i % 2]!, 'alice', '000000', `10.8.0.${i}`)).status, 401);
    const r = await guess(gates[0]!, 'alice', '000000', '10.8.1.1');
    assert.equal(r.status, 429);
    assert.ok(Number(r.retryAfter) > 2 && Number(r.retryAfter) <= 4, `second lockout Retry-After ${r.retryAfter}`);
  });

  it('evaluates at most perIp guesses from one address that rotates subscriber ids', async () => {
    const t = await tightLoop(gates, 1500, 16, (i) => ({ sid: `sub-${i}`, ip: '192.0.2.7' }));
    const perMinute = (t.evaluated / t.elapsedMs) * 60_000;
    console.log(`# address loop: ${t.evaluated} evaluated, ${t.refused} refused in ${t.elapsedMs} ms (${perMinute.toFixed(1)} evaluated/min)`);
    assert.equal(t.other.size, 0, `unexpected statuses ${[...t.other]}`);
    assert.ok(t.evaluated <= PER_IP, `evaluated ${t.evaluated} guesses, bound ${PER_IP}`);
    // An IPv6 attacker owns a /64: it is counted as one address.
    const v6 = await guess(gates[0]!, 'sub-x', '000000', '2001:db8:1:2::99');
    assert.equal(v6.status, 401);
    for (let i = 0; i < PER_IP; i++) await guess(gates[i % 2]!, `v6-${i}`, '000000', `2001:db8:1:2::${(i + 1).toString(16)}`);
    assert.equal((await guess(gates[1]!, 'sub-y', '000000', '2001:db8:1:2:ffff::1')).status, 429);
    assert.equal((await guess(gates[1]!, 'sub-y', '000000', '2001:db8:1:3::1')).status, 401, 'another /64 is not locked');
  });

  it('counts nothing when limits.attempts is off (the old behaviour, for the figure)', async () => {
    const cfg = config(`${prefix}-off`, { enabled: false });
    const off = [await startTestGate(cfg), await startTestGate(cfg)];
    try {
      const t = await tightLoop(off, 1500, 16, () => ({ sid: 'bob', ip: '192.0.2.8' }));
      console.log(`# limits off: ${t.evaluated} evaluated in ${t.elapsedMs} ms (${((t.evaluated / t.elapsedMs) * 60_000).toFixed(0)} evaluated/min)`);
      assert.ok(t.evaluated > PER_SUBSCRIBER * 10);
    } finally {
      await Promise.all(off.map((g) => g.close()));
    }
  });
});
