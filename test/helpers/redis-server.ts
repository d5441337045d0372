// Private, throwaway Redis processes for tests: a standalone server (restartable on its port, for
// fault tests), a 3-master Cluster and a Sentinel-monitored master. Nothing is persisted; every
// process and temp dir is removed on stop(), on a failed start, and at process exit.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

export const REDIS_SERVER = '/usr/bin/redis-server';
export const REDIS_CLI = '/usr/bin/redis-cli';
const run = promisify(execFile);

// Last-resort cleanup if a test file dies without calling stop().
const live = new Set<ChildProcess>();
const dirs = new Set<string>();
process.once('exit', () => {
  for (const p of live) p.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

function tempDir(tag: string): string {
  const d = mkdtempSync(join(tmpdir(), `sg-${tag}-`));
  dirs.add(d);
  return d;
}

function removeDir(d: string): void {
  rmSync(d, { recursive: true, force: true });
  dirs.delete(d);
}

/** Sends one inline command over raw TCP; resolves with the first reply line. */
function rawCommand(port: number, command: string, timeoutMs = 500): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect({ port, host: '127.0.0.1' });
    let buf = '';
    const fail = (err: Error) => {
      sock.destroy();
      reject(err);
    };
    sock.setTimeout(timeoutMs, () => fail(new Error('timeout')));
    sock.once('error', fail);
    sock.once('connect', () => sock.write(`${command}\r\n`));
    sock.on('data', (d) => {
      buf += d.toString();
      if (buf.includes('\r\n')) {
        sock.destroy();
        resolve(buf);
      }
    });
  });
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

class Proc {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  constructor(
    private readonly args: string[],
    private readonly cwd: string,
  ) {}

  async start(port: number, readyCheck = 'PING', expect = '+PONG'): Promise<void> {
    if (this.child) return;
    const child = spawn(REDIS_SERVER, this.args, { cwd: this.cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (d) => (stderr += d.toString()));
    live.add(child);
    this.child = child;
    this.exited = new Promise((resolve) =>
      child.once('exit', () => {
        live.delete(child);
        if (this.child === child) this.child = undefined;
        resolve();
      }),
    );
    try {
      await waitFor(`redis on port ${port}`, async () => {
        if (!this.child) throw new Error(`redis-server exited: ${stderr}`);
        return (await rawCommand(port, readyCheck)).startsWith(expect);
      });
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  async stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill(signal);
    await this.exited;
  }

  signal(sig: NodeJS.Signals): void {
    this.child?.kill(sig);
  }
}

export interface RedisServer {
  port: number;
  url: string;
  /** Kills the server (data is lost: nothing is persisted). */
  stop(): Promise<void>;
  /** Starts it again on the same port. */
  start(): Promise<void>;
  /** SIGSTOP/SIGCONT: the socket stays open but nothing answers (a hung server). */
  pause(): void;
  resume(): void;
  /** Stops for good and removes its temp dir. */
  destroy(): Promise<void>;
}

export async function startRedisServer(extraArgs: string[] = []): Promise<RedisServer> {
  const port = await freePort();
  const dir = tempDir('redis');
  const proc = new Proc(['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...extraArgs], dir);
  try {
    await proc.start(port);
  } catch (err) {
    removeDir(dir);
    throw err;
  }
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop: () => proc.stop(),
    start: () => proc.start(port),
    pause: () => proc.signal('SIGSTOP'),
    resume: () => proc.signal('SIGCONT'),
    destroy: async () => {
      proc.signal('SIGCONT');
      await proc.stop();
      removeDir(dir);
    },
  };
}

export interface RedisCluster {
  nodes: { host: string; port: number }[];
  stop(): Promise<void>;
}

/** Three masters, no replicas; resolves once every node reports cluster_state:ok. */
export async function startRedisCluster(): Promise<RedisCluster> {
  const dir = tempDir('cluster');
  const procs: Proc[] = [];
  const ports: number[] = [];
  const stop = async () => {
    await Promise.all(procs.map((p) => p.stop()));
    removeDir(dir);
  };
  try {
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const proc = new Proc(
        [
          '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir,
          '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '2000',
        ],
        dir,
      );
      procs.push(proc);
      await proc.start(port);
      ports.push(port);
    }
    await run(REDIS_CLI, ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], { timeout: 20_000 });
    for (const port of ports) {
      await waitFor(`cluster_state:ok on ${port}`, async () => (await clusterInfo(port)).includes('cluster_state:ok'));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { nodes: ports.map((port) => ({ host: '127.0.0.1', port })), stop };
}

async function clusterInfo(port: number): Promise<string> {
  const { stdout } = await run(REDIS_CLI, ['-p', String(port), 'cluster', 'info'], { timeout: 2000 });
  return stdout;
}

export interface RedisSentinel {
  sentinels: { host: string; port: number }[];
  name: string;
  master: RedisServer;
  stop(): Promise<void>;
}

/** One master and one Sentinel monitoring it (quorum 1); resolves once Sentinel knows the master. */
export async function startRedisSentinel(name = 'sgmaster'): Promise<RedisSentinel> {
  const master = await startRedisServer();
  const dir = tempDir('sentinel');
  let sentinel: Proc | undefined;
  const stop = async () => {
    await sentinel?.stop();
    await master.destroy();
    removeDir(dir);
  };
  try {
    const port = await freePort();
    const conf = join(dir, 'sentinel.conf');
    writeFileSync(
      conf,
      [`port ${port}`, 'bind 127.0.0.1', `dir ${dir}`, `sentinel monitor ${name} 127.0.0.1 ${master.port} 1`, `sentinel down-after-milliseconds ${name} 2000`, ''].join('\n'),
    );
    sentinel = new Proc([conf, '--sentinel'], dir);
    await sentinel.start(port, `SENTINEL get-master-addr-by-name ${name}`, '*2');
    return { sentinels: [{ host: '127.0.0.1', port }], name, master, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** True when `redis-cli` can run (cluster tests need it to create the cluster). */
export async function haveRedisCli(): Promise<boolean> {
  try {
    await run(REDIS_CLI, ['--version'], { timeout: 2000 });
    return true;
  } catch {
    return false;
  }
}

export interface SentinelGroup {
  sentinels: { host: string; port: number }[];
  name: string;
  master: RedisServer;
  replicas: RedisServer[];
  /** Port of the master Sentinel currently names. */
  currentMasterPort(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * One master, `replicaCount` replicas and three Sentinels (quorum 2, master down after
 * `downAfterMs`), for failover tests. Resolves once the replicas are in sync and every Sentinel
 * knows the others and the replicas.
 */
export async function startSentinelGroup(name = 'sgfail', replicaCount = 1, downAfterMs = 1000): Promise<SentinelGroup> {
  const master = await startRedisServer();
  const replicas: RedisServer[] = [];
  for (let i = 0; i < replicaCount; i++) replicas.push(await startRedisServer(['--replicaof', '127.0.0.1', String(master.port)]));
  const dir = tempDir('sentinels');
  const procs: Proc[] = [];
  const ports: number[] = [];
  const stop = async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await Promise.all([master.destroy(), ...replicas.map((r) => r.destroy())]);
    removeDir(dir);
  };
  try {
    for (const replica of replicas) {
      await waitFor('replica in sync', async () => (await run(REDIS_CLI, ['-p', String(replica.port), 'info', 'replication'], { timeout: 2000 })).stdout.includes('master_link_status:up'));
    }
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const conf = join(dir, `sentinel-${i}.conf`);
      writeFileSync(
        conf,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${dir}`,
          `sentinel monitor ${name} 127.0.0.1 ${master.port} 2`,
          `sentinel down-after-milliseconds ${name} ${downAfterMs}`,
          `sentinel failover-timeout ${name} 4000`,
          `sentinel parallel-syncs ${name} 1`,
          '',
        ].join('\n'),
      );
      const p = new Proc([conf, '--sentinel'], dir);
      procs.push(p);
      await p.start(port, `SENTINEL get-master-addr-by-name ${name}`, '*2');
      ports.push(port);
    }
    // Every Sentinel has found the others and the replica (needed for a quorum and a promotion).
    await waitFor('sentinels know each other', async () => {
      for (const port of ports) {
        const { stdout } = await run(REDIS_CLI, ['-p', String(port), 'sentinel', 'master', name], { timeout: 2000 });
        const lines = stdout.split('\n').map((l) => l.trim());
        const field = (k: string) => Number(lines[lines.indexOf(k) + 1]);
        if (field('num-other-sentinels') < 2 || field('num-slaves') < replicaCount) return false;
      }
      return true;
    }, 20_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    sentinels: ports.map((port) => ({ host: '127.0.0.1', port })),
    name,
    master,
    replicas,
    currentMasterPort: async () => {
      const { stdout } = await run(REDIS_CLI, ['-p', String(ports[0]), 'sentinel', 'get-master-addr-by-name', name], { timeout: 2000 });
      return Number(stdout.trim().split('\n')[1]);
    },
    stop,
  };
}
