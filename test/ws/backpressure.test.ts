// Backpressure through the signalling gate: a side that stops reading pauses the other side's
// socket; the gate's own buffers (write queues, read buffers, partial frames, queued frames) stay
// under the bound stated in src/ws/ws-gate.ts while megabytes pile up in the peer that is not read.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestGate } from '../helpers/gate.js';
import { connectClient, openOriginLeg, startTestWsOrigin, type TestWsOrigin } from '../helpers/ws-origin.js';
import type { RunningGate } from '../../src/server.js';
import { HIGH_WATER_MARK } from '../../src/ws/ws-gate.js';

const MiB = 1024 * 1024;
const KiB = 1024;
const FRAME = 16 * KiB;
// The bound of one direction (src/ws/ws-gate.ts): the destination's write queue (high-water mark +
// the rest of the 64 KiB read being parsed when the pause took effect + one frame), the paused
// source's read buffer (16 KiB high-water mark + one 64 KiB read) and one partial frame.
const BOUND = HIGH_WATER_MARK + 64 * KiB + FRAME + 16 * KiB + 64 * KiB + FRAME;

describe('websocket gate: backpressure', () => {
  let origin: TestWsOrigin;
  let gate: RunningGate;

  before(async () => {
    origin = await startTestWsOrigin();
    gate = await startTestGate({ origin: { url: origin.url }, apps: { OpenApp: {} } });
  });
  after(async () => {
    await gate.close();
    await origin.close();
  });

  /** Largest gate footprint seen over `ms`. */
  async function peakFootprint(ms: number): Promise<number> {
    let peak = 0;
    for (const t0 = Date.now(); Date.now() - t0 < ms; await sleep(5)) peak = Math.max(peak, gate.wsGate.footprint());
    return peak;
  }

  test('a client that stops reading while the origin floods: the gate stays under its bound, nothing is lost', async (t) => {
    const c = await connectClient(`${gate.url.replace('http', 'ws')}/OpenApp/websocket`);
    t.after(() => c.ws.terminate()); // a failed assertion must not leave a paused relay for the next test
    await openOriginLeg(c, origin);
    const conn = origin.sockets.length;
    const originSide = origin.sockets[conn - 1]!;
    c.ws.pause();
    // The origin keeps 4 MiB queued for as long as we watch: whatever kernel buffers (loopback
    // autotuning reaches megabytes) take off its queue is topped up, so the gate is pushed the
    // whole time, whatever the scheduling.
    const frame = Buffer.alloc(FRAME, 0x61);
    let sent = 0;
    const topUp = () => {
      while (originSide.readyState === 1 && originSide.bufferedAmount < 4 * MiB) {
        originSide.send(frame, { binary: true });
        sent += frame.length;
      }
    };
    let peak = 0;
    for (let t0 = Date.now(); Date.now() - t0 < 500; await sleep(5)) {
      topUp();
      peak = Math.max(peak, gate.wsGate.footprint());
    }
    t.diagnostic(`gate peak ${peak} B, bound ${BOUND} B; origin queued ${originSide.bufferedAmount} B, sent ${sent} B`);
    assert.ok(peak <= BOUND, `gate holds ${peak} B, bound ${BOUND} B`);
    assert.ok(originSide.bufferedAmount >= 3 * MiB, 'the flood waits in the origin, not in the gate');

    originSide.send(JSON.stringify({ command: 'flooded', sent }));
    c.ws.resume();
    const flooded = JSON.parse(await c.next(10_000)) as { command: string; sent: number };
    assert.equal(flooded.command, 'flooded');
    assert.equal(c.binaryBytes, flooded.sent, 'every byte arrived once the client read again');
    assert.ok(flooded.sent > 4 * MiB, 'megabytes were held back by the paused sockets, not by the gate');
    c.ws.close();
    await c.closed;
  });

  test('an origin that stops reading while the client floods: the client is paused, the gate stays under its bound', async (t) => {
    const c = await connectClient(`${gate.url.replace('http', 'ws')}/OpenApp/websocket`);
    t.after(() => c.ws.terminate());
    await openOriginLeg(c, origin);
    const conn = origin.sockets.length;
    const originSide = origin.sockets[conn - 1]!;
    originSide.pause();
    const frame = Buffer.alloc(FRAME, 0x62);
    let sent = 0;
    while (c.ws.bufferedAmount < 4 * MiB) {
      c.ws.send(frame, { binary: true });
      sent += frame.length;
      if (sent % (64 * FRAME) === 0) await sleep(1); // let the gate run
    }
    const peak = await peakFootprint(300);
    t.diagnostic(`gate peak ${peak} B, bound ${BOUND} B`);
    assert.ok(peak <= BOUND, `gate holds ${peak} B, bound ${BOUND} B`);
    assert.ok(c.ws.bufferedAmount >= 3 * MiB, 'the flood waits in the client, not in the gate');

    originSide.resume();
    const received = () => origin.frames.filter((f) => f.conn === conn && f.binary).reduce((n, f) => n + f.binary!.length, 0);
    await origin.until(() => received() === sent, 10_000);
    c.ws.close();
    await c.closed;
  });
});
