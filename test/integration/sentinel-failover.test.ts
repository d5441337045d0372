// Fault: Redis Sentinel with a master that hangs (SIGSTOP), not dies. Before: Sentinel promoted a
// replica in seconds, but the gates kept their connection to the frozen master and answered 503
// until it resumed, then wrote to it until it was demoted — and a one-time token consumed there was
// lost at demotion and accepted a second time. Now the store follows Sentinel's +switch-master (and
// re-resolves after command timeouts), and with store.redis.waitReplicas a consume counts only once
// a replica acknowledged it (Redis WAIT), so no failover can undo it.
//
// 1 master, 2 replicas (so the promoted master still has one to acknowledge), 3 Sentinels, two
// store clients standing for two gate replicas, all private processes on loopback.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { RedisStore } from '../../src/store/redis-store.js';
import { newTokenId } from '../../src/checks/one-time-token.js';
import { startSentinelGroup, type SentinelGroup } from '../helpers/redis-server.js';

const PAUSE_MS = 9000;
const AFTER_RESUME_MS = 7000;
const RECOVERY_BOUND_MS = 7000;
const TOKENS = 60;

let group: SentinelGroup | undefined;
let skip: string | false = false;
try {
  group = await startSentinelGroup('sgfail', 2);
} catch (err) {
  skip = `Sentinel group could not start: ${(err as Error).message}`;
  console.log(`# SKIP sentinel failover: ${skip}`);
}

describe('Sentinel failover with a hung master', { skip }, () => {
  let gates: RedisStore[] = [];
  const app = 'live';

  before(() => {
    const cfg = { sentinels: group!.sentinels, sentinelName: group!.name, keyPrefix: `sgfo${process.pid}`, commandTimeoutMs: 500, waitReplicas: 1, waitTimeoutMs: 200 };
    gates = [new RedisStore(cfg), new RedisStore(cfg)];
  });
  after(async () => {
    await Promise.all(gates.map((g) => g.close()));
    await group?.stop();
  });

  it('follows the promotion within seconds and never accepts a one-time token twice', async () => {
    const ids = Array.from({ length: TOKENS }, () => newTokenId());
    const exp = Math.floor(Date.now() / 1000) + 600;
    for (const id of ids) await gates[0]!.saveToken(app, { tokenId: id, streamId: 's1', type: 'play', expireDate: exp });
    for (const g of gates) await g.ping();
    await sleep(300); // replicated
    const oldMaster = group!.master.port;
    const accepted = new Map<string, number>();
    const recovered: (number | null)[] = [null, null];
    const outcomes = new Map<string, number>();

    const t0 = Date.now();
    group!.master.pause();
    const end = t0 + PAUSE_MS + AFTER_RESUME_MS;
    let resumed = false;
    const resume = sleep(PAUSE_MS).then(() => {
      group!.master.resume();
      resumed = true;
    });
    // Each token is "current" for 250 ms; both gates try to consume it, again and again.
    await Promise.all(
      gates.map(async (g, i) => {
        while (Date.now() < end) {
          const id = ids[Math.min(TOKENS - 1, Math.floor((Date.now() - t0) / 250))]!;
          try {
            const r = await g.consumeToken(app, { tokenId: id, streamIds: ['s1'], type: 'play' }, Date.now(), true);
            outcomes.set(r.outcome, (outcomes.get(r.outcome) ?? 0) + 1);
            if (r.outcome === 'ok') accepted.set(id, (accepted.get(id) ?? 0) + 1);
            if (recovered[i] === null && !resumed) recovered[i] = Date.now() - t0;
          } catch {
            outcomes.set('unavailable', (outcomes.get('unavailable') ?? 0) + 1);
          }
          await sleep(20);
        }
      }),
    );
    await resume;
    // Settled: the old master rejoined as a replica. A consume lost in the failover would let a
    // token be accepted again now.
    await sleep(1500);
    for (const id of ids) {
      for (const g of gates) {
        const r = await g.consumeToken(app, { tokenId: id, streamIds: ['s1'], type: 'play' }, Date.now(), true).catch(() => null);
        if (r?.outcome === 'ok') accepted.set(id, (accepted.get(id) ?? 0) + 1);
      }
    }
    const newMaster = await group!.currentMasterPort();
    console.log(`# master ${oldMaster} → ${newMaster}; recovered after ${recovered.map((r) => (r === null ? 'never (before resume)' : `${r} ms`)).join(', ')}; outcomes ${JSON.stringify([...outcomes])}`);
    assert.notEqual(newMaster, oldMaster, 'Sentinel promoted a replica');
    for (const [i, r] of recovered.entries()) assert.ok(r !== null && r < RECOVERY_BOUND_MS, `gate ${i} answered again after ${r} ms, while the old master was still frozen`);
    const twice = [...accepted].filter(([, n]) => n > 1);
    assert.deepEqual(twice, [], 'no token accepted twice');
    assert.ok(accepted.size > 10, `tokens were accepted during the run (${accepted.size})`);
  });
});
