// One measurement: wrk pinned to the load CPU, with the CPU each side used during the run.
import { fileURLToPath } from 'node:url';
import { LOAD_CPU, runCommand } from './procs.js';
import { machineBusyTicks, mainThreadTicks, selfTicks, TICK_US, treeTicks } from './procstat.js';

const REPORT = fileURLToPath(new URL('./wrk-report.lua', import.meta.url));
const PATHS = fileURLToPath(new URL('./wrk-paths.lua', import.meta.url));

export const WRK = { threads: 1, connections: 50 };

/** Refuses anything but loopback: this harness must never load a real host. */
export function assertLoopback(url) {
  const host = new URL(url).hostname;
  if (host !== '127.0.0.1' && host !== '[::1]' && host !== 'localhost') throw new Error(`refusing non-loopback target ${url}`);
}

/**
 * Runs wrk for `seconds` against `url`. `pids.proxy` / `pids.origin` are the process trees whose CPU
 * is charged to the row; whatever else kept the CPUs busy is reported as foreign load.
 */
export async function runWrk(url, { seconds, pids = {}, pathsFile }) {
  assertLoopback(url);
  // With a paths file every request takes the next path from it (many viewers, one wrk run).
  const script = pathsFile ? ['-s', PATHS, url, '--', pathsFile] : ['-s', REPORT, url];
  const before = { proxy: treeTicks(pids.proxy), proxyMain: mainThreadTicks(pids.proxy), origin: treeTicks(pids.origin), self: selfTicks(), busy: machineBusyTicks(), t: process.hrtime.bigint() };
  const out = await runCommand('wrk', [`-t${WRK.threads}`, `-c${WRK.connections}`, `-d${seconds}s`, '--latency', ...script], { cpu: LOAD_CPU });
  const wallUs = Number(process.hrtime.bigint() - before.t) / 1000;
  const after = { proxy: treeTicks(pids.proxy), proxyMain: mainThreadTicks(pids.proxy), origin: treeTicks(pids.origin), self: selfTicks(), busy: machineBusyTicks() };
  const line = out.split('\n').find((l) => l.startsWith('WRK_JSON '));
  if (!line) throw new Error(`wrk printed no summary:\n${out}`);
  const w = JSON.parse(line.slice('WRK_JSON '.length));
  const n = Math.max(1, w.requests);
  const d = (k) => (after[k] - before[k]) * TICK_US;
  // `self` covers this orchestrator and the wrk child it just reaped.
  const foreignUs = Math.max(0, d('busy') - d('proxy') - d('origin') - d('self'));
  return {
    requests: w.requests,
    rps: w.requests / (w.duration_us / 1e6),
    mbps: w.bytes / (w.duration_us / 1e6) / 1e6,
    bytesPerResponse: w.bytes / n,
    p50ms: w.p50_us / 1000,
    p90ms: w.p90_us / 1000,
    p99ms: w.p99_us / 1000,
    errors: { non2xx: w.status, connect: w.connect, read: w.read, write: w.write, timeout: w.timeout },
    cpuUsPerReq: { proxy: pids.proxy ? d('proxy') / n : null, proxyOtherThreads: pids.proxy ? (d('proxy') - d('proxyMain')) / n : null, origin: pids.origin ? d('origin') / n : null, wrk: d('self') / n },
    foreignCores: foreignUs / wallUs,
  };
}

export const errorCount = (e) => e.non2xx + e.connect + e.read + e.write + e.timeout;
