// Hostile SRT callers against the SRT door, with raw datagrams: media sent before a decision, a
// conclusion with no induction, garbage, retransmitted conclusions racing one decision (a one-time
// token must be consumed once), and an induction flood from many ports.
// Defends against: media reaching the origin from a caller nobody authorized, a one-time token
// opening two sessions, and unbounded per-caller state.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestGate } from '../helpers/gate.js';
import { conclusion, handshake, standInSrtOrigin, udpPeer } from '../helpers/srt.js';
import { RequestType, readHandshake, writeHandshake } from '../../src/srt/packet.js';
import type { RunningGate } from '../../src/server.js';

describe('SRT door under hostile callers', () => {
  let gate: RunningGate;
  let origin: Awaited<ReturnType<typeof udpPeer>>;
  let port: number;

  before(async () => {
    origin = await standInSrtOrigin();
    gate = await startTestGate({
      origin: { url: 'http://127.0.0.1:9' },
      srt: { enabled: true, listen: { host: '127.0.0.1', port: 0 }, origin: `127.0.0.1:${origin.port}`, handshakeTimeoutMs: 500, maxSessions: 20 },
      apps: { LiveApp: { publish: { oneTimeToken: true } } },
    });
    port = Number(gate.srtGate!.address().split(':').pop());
  });
  after(async () => {
    await gate?.close();
    await origin?.close();
  });

  const caller = async (address?: string) => {
    const c = await udpPeer(undefined, address);
    return { ...c, send: (b: Buffer) => c.sock.send(b, port, '127.0.0.1') };
  };
  const induction = writeHandshake(handshake());
  const media = Buffer.concat([Buffer.from([0, 0, 0, 1]), Buffer.alloc(1300, 7)]);

  test('media and a conclusion without an induction never reach the origin', async () => {
    const before = origin.got.length;
    const c = await caller();
    c.send(media);
    c.send(conclusion('LiveApp/s1,token=x'));
    c.send(Buffer.from('garbage'));
    await sleep(200);
    assert.equal(origin.got.length, before);
    await c.close();
  });

  test('after an induction, media sent before the decision is dropped; a refused caller gets a rejection only', async () => {
    const c = await caller();
    const before = origin.got.length;
    c.send(induction);
    await sleep(100);
    assert.equal(origin.got.length, before + 1, 'the induction is relayed');
    c.send(media);
    c.send(conclusion('LiveApp/s1,token=not-a-token'));
    c.send(conclusion('LiveApp/s1,token=not-a-token'));
    await sleep(200);
    assert.equal(origin.got.length, before + 1, 'neither media nor the conclusion reached the origin');
    const answers = c.got.map((m) => readHandshake(m)).filter((h) => h.requestType >= 1000);
    assert.ok(answers.length >= 1);
    assert.equal(answers[0]!.requestType, 1000 + 1401);
    assert.equal(answers[0]!.destinationSocketId, 0x1234);
    await c.close();
  });

  test('retransmitted conclusions racing one decision consume a one-time token once', async () => {
    await gate.runtime.store.saveToken('LiveApp', { tokenId: 'srt-race-1', streamId: 'race', type: 'publish', expireDate: Math.floor(Date.now() / 1000) + 60 });
    // Two clients (two addresses): the same client re-presenting its token would be let in.
    const a = await caller();
    const b = await caller('127.0.0.2');
    a.send(induction);
    b.send(induction);
    await sleep(100);
    const before = origin.got.length;
    for (let i = 0; i < 5; i++) {
      a.send(conclusion('LiveApp/race,token=srt-race-1'));
      b.send(conclusion('LiveApp/race,token=srt-race-1'));
    }
    await sleep(300);
    const conclusionsAtOrigin = origin.got.slice(before).filter((m) => {
      try {
        return readHandshake(m).requestType === RequestType.conclusion;
      } catch {
        return false;
      }
    });
    const rejected = [a, b].filter((c) => c.got.some((m) => readHandshake(m).requestType >= 1000));
    assert.ok(conclusionsAtOrigin.length >= 1, 'the winner reached the origin');
    assert.equal(rejected.length, 1, 'exactly one caller was rejected');
    assert.match(JSON.stringify(await gate.runtime.metrics.registry.getSingleMetricAsString('streamgate_srt_sessions_closed_total')), /token_used/);
    await a.close();
    await b.close();
  });

  test('one source address cannot hold more than 8 handshakes at once', async () => {
    const earlier = gate.srtGate!.size;
    const c = await caller();
    // The same address from one socket would reuse one session; a flood uses many source ports.
    const ports = await Promise.all([...Array(12)].map(() => caller()));
    for (const p of ports) p.send(induction);
    await sleep(150);
    assert.ok(gate.srtGate!.size - earlier <= 8, `${gate.srtGate!.size - earlier} handshakes from 127.0.0.1`);
    await sleep(700);
    await Promise.all([c, ...ports].map((p) => p.close()));
  });

  test('an induction flood is capped at srt.maxSessions and forgotten after the handshake timeout', async () => {
    const earlier = gate.srtGate!.size; // sessions of the tests above, still live or remembered
    const sockets = await Promise.all([...Array(40)].map(() => caller()));
    for (const s of sockets) s.send(induction);
    await sleep(150);
    assert.ok(gate.srtGate!.size <= 20, `${gate.srtGate!.size} sessions`);
    await sleep(1000);
    assert.ok(gate.srtGate!.size <= earlier, `${gate.srtGate!.size} sessions left of the flood`);
    await Promise.all(sockets.map((s) => s.close()));
  });
});
