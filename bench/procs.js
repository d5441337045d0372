// Child processes of the benchmark: started pinned, logged to .work/logs, and all killed on exit,
// Ctrl-C or a crash so that no nginx/node is left listening after a run.
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { descendants } from './procstat.js';

const children = new Set();

/** CPU pinning: servers share CPU 0, the load generator gets CPU 1 (BENCH_PIN=0 turns it off). */
export const pinning = process.env.BENCH_PIN !== '0' && availableParallelism() >= 2;
export const SERVER_CPU = '0';
export const LOAD_CPU = '1';

export function pinned(cpu, cmd, args) {
  return pinning ? { cmd: 'taskset', args: ['-c', cpu, cmd, ...args] } : { cmd, args };
}

/**
 * Starts a long-running server. taskset execs the command, so the pid is the server's own
 * (what the CPU accounting reads).
 */
export function startServer(name, cmd, args, { logDir, env, cwd } = {}) {
  mkdirSync(logDir, { recursive: true });
  const log = createWriteStream(join(logDir, `${name}.log`));
  const p = pinned(SERVER_CPU, cmd, args);
  const child = spawn(p.cmd, p.args, { env: { ...process.env, ...env }, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  child.benchName = name;
  children.add(child);
  child.once('exit', (code, signal) => {
    children.delete(child);
    if (!shuttingDown) console.error(`bench: ${name} exited unexpectedly (code ${code}, signal ${signal}); see ${join(logDir, `${name}.log`)}`);
  });
  child.once('error', (err) => console.error(`bench: cannot start ${name}: ${err.message}`));
  return child;
}

/** Runs a command to completion, capturing stdout (wrk, ffmpeg). */
export function runCommand(cmd, args, { cpu, env } = {}) {
  const p = cpu ? pinned(cpu, cmd, args) : { cmd, args };
  return new Promise((resolve, reject) => {
    const child = spawn(p.cmd, p.args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.once('error', reject);
    child.once('close', (code) => {
      children.delete(child);
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} exited with ${code}: ${err.trim().slice(-2000)}`));
    });
  });
}

/** Polls until `url` answers `status` (servers print nothing useful when they are ready). */
export async function waitForHttp(url, { status = 200, timeoutMs = 20_000, child } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`${child.benchName} exited before ${url} answered`);
    try {
      const r = await fetch(url);
      await r.arrayBuffer();
      if (r.status === status) return;
      last = `status ${r.status}`;
    } catch (err) {
      last = err.cause?.code ?? err.message;
    }
    await sleep(100);
  }
  throw new Error(`${url} not ready after ${timeoutMs} ms (${last})`);
}

let shuttingDown = false;
export const stopping = () => shuttingDown;

/** SIGTERM everything, SIGKILL what is still alive after a grace period. */
export async function stopAll(graceMs = 3000) {
  shuttingDown = true;
  const alive = [...children];
  for (const c of alive) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && alive.some((c) => c.exitCode === null && c.signalCode === null)) await sleep(50);
  for (const c of alive) {
    if (c.exitCode !== null || c.signalCode !== null) continue;
    // A SIGKILLed nginx master would orphan its worker, still bound to the port: kill our own tree by pid.
    for (const pid of descendants(c.pid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    c.kill('SIGKILL');
  }
}

export function installExitHandlers() {
  // Synchronous last resort ('exit' handlers cannot wait): SIGTERM lets nginx take its worker down
  // and the gate drain, even after we are gone.
  process.on('exit', () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(sig, () => {
      console.error(`\nbench: ${sig}, stopping servers…`);
      void stopAll(1500).finally(() => process.exit(130));
    });
  }
}
