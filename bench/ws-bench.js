// Signalling WebSocket benchmark: ping-pong of 1 KiB text frames over ≥ 100 concurrent sockets,
// directly against a ws origin and through streamgate (dist/, inspection always on), interleaved in
// one run; then the gate's memory per idle connection (RSS and heap delta of the gate process).
//
//   npm run build && node bench/ws-bench.js
//
// Environment: WS_BENCH_SECONDS (5) per run, WS_BENCH_REPS (3), WS_BENCH_SOCKETS (100),
// WS_BENCH_IDLE (1000) idle sockets, SG_DIST (dist directory, default ./dist), BENCH_PIN=0 (no
// taskset; by default origin and gate share CPU 0 and the load generator gets CPU 1).
// A bare ws relay (no inspection) runs beside them as the reference for what a Node relay hop costs.
// Rows: `json`: frames the gate's pre-filter proves cannot be commands it gates (the common case:
// candidates, SDP, pings); `parse`: frames containing "play", which the gate JSON-parses first.
import { spawn } from 'node:child_process';
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocket, WebSocketServer } from 'ws';

const HASH_SECRET = 'bench-hash-secret';
const FRAME_BYTES = 1024;
const num = (name, dflt) => (process.env[name] ? Number(process.env[name]) : dflt);

// ---- roles run in child processes -----------------------------------------------------------------

/** An origin that answers like Ant Media for publish and echoes `echo` frames byte for byte. */
function runOrigin(port) {
  const server = createServer((_req, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({ server, perMessageDeflate: false });
  wss.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => {
      if (isBinary) return ws.send(data);
      // Cheap dispatch: the echo frames start with {"command":"echo"
      if (data[12] === 0x65 /* e */) return ws.send(data, { binary: false });
      const m = JSON.parse(data.toString());
      if (m.command === 'publish') ws.send(JSON.stringify({ command: 'start', streamId: m.streamId }));
    });
  });
  server.listen(port, '127.0.0.1', () => console.log('ready'));
}

/** Reference: the smallest ws relay (no inspection, no backpressure, no close mapping). */
function runBare(port, originPort) {
  const wss = new WebSocketServer({ port, host: '127.0.0.1', perMessageDeflate: false });
  wss.on('connection', (client, req) => {
    const origin = new WebSocket(`ws://127.0.0.1:${originPort}${req.url}`, { perMessageDeflate: false });
    const early = [];
    origin.on('open', () => early.splice(0).forEach(([d, b]) => origin.send(d, { binary: b })));
    client.on('message', (d, b) => (origin.readyState === 1 ? origin.send(d, { binary: b }) : early.push([d, b])));
    origin.on('message', (d, b) => client.send(d, { binary: b }));
    client.on('close', () => origin.close());
    origin.on('close', () => client.close());
  });
  wss.on('listening', () => console.log('ready'));
}

function frameFor(kind, i) {
  const head = `{"command":"echo","streamId":"bench${i}","pad":"`;
  const word = kind === 'parse' ? 'display' : 'x';
  const pad = word.padEnd(FRAME_BYTES - head.length - 2, 'x');
  return Buffer.from(`${head}${pad}"}`);
}

/** N sockets, each: publish (authorized by the gate), then send → await echo → send … */
async function runLoad(url, sockets, seconds, kind) {
  const samples = new Float64Array(4_000_000);
  let n = 0;
  let errors = 0;
  let stop = false;
  const one = (i) =>
    new Promise((resolve) => {
      const ws = new WebSocket(url, { perMessageDeflate: false });
      const frame = frameFor(kind, i);
      let t0 = 0;
      const send = () => {
        t0 = performance.now();
        ws.send(frame, { binary: false });
      };
      ws.on('error', () => {
        errors++;
        resolve();
      });
      ws.on('open', () => {
        const streamId = `bench${i}`;
        const token = createHash('sha256').update(`${streamId}publish${HASH_SECRET}`).digest('hex');
        ws.send(JSON.stringify({ command: 'publish', streamId, token }));
      });
      ws.on('message', (data) => {
        if (data[12] !== 0x65) {
          if (!String(data).includes('"start"')) errors++;
          return started.push(send);
        }
        if (n < samples.length) samples[n] = performance.now() - t0;
        n++;
        if (stop) {
          ws.close();
          return resolve();
        }
        send();
      });
    });
  const started = [];
  const all = Array.from({ length: sockets }, (_, i) => one(i));
  // All sockets connect and publish first; the clock starts when every one of them is ready.
  while (started.length + errors < sockets) await sleep(5);
  const t0 = performance.now();
  for (const s of started) s();
  await sleep(seconds * 1000);
  const measured = n;
  const elapsed = (performance.now() - t0) / 1000;
  stop = true;
  await Promise.race([Promise.all(all), sleep(3000)]);
  const lat = samples.subarray(0, Math.min(measured, samples.length)).sort();
  const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? NaN;
  console.log(JSON.stringify({ rate: measured / elapsed, p50: q(0.5) * 1000, p90: q(0.9) * 1000, p99: q(0.99) * 1000, errors }));
  process.exit(0);
}

/** Opens n idle sockets, says "open", holds them until stdin closes. */
async function runIdle(url, count) {
  const held = [];
  for (let i = 0; i < count; i += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, count - i) }, () =>
        new Promise((resolve, reject) => {
          const ws = new WebSocket(url, { perMessageDeflate: false });
          ws.once('open', () => resolve(held.push(ws)));
          ws.once('error', reject);
        }),
      ),
    );
  }
  console.log('open');
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
}

// ---- orchestration --------------------------------------------------------------------------------

const here = fileURLToPath(new URL('.', import.meta.url));
const repo = join(here, '..');
const pin = process.env.BENCH_PIN !== '0';
const children = new Set();

function spawnRole(cpu, args, { wait = 'ready', env = {} } = {}) {
  const cmd = pin ? 'taskset' : process.execPath;
  const argv = pin ? ['-c', cpu, process.execPath, ...args] : args;
  const child = spawn(cmd, argv, { stdio: ['pipe', 'pipe', 'inherit'], cwd: repo, env: { ...process.env, ...env } });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let out = '';
  const lines = [];
  child.stdout.on('data', (d) => {
    out += d;
    lines.push(...out.split('\n').slice(0, -1));
    out = out.slice(out.lastIndexOf('\n') + 1);
  });
  const until = (pred, ms = 60_000) =>
    new Promise((resolve, reject) => {
      const t0 = Date.now();
      const tick = () => {
        const hit = lines.find(pred);
        if (hit !== undefined) return resolve(hit);
        if (child.exitCode !== null) return reject(new Error(`${args.join(' ')} exited ${child.exitCode}`));
        if (Date.now() - t0 > ms) return reject(new Error(`${args.join(' ')}: timeout`));
        setTimeout(tick, 20);
      };
      tick();
    });
  return { child, until, ready: wait ? until((l) => l.includes(wait)) : Promise.resolve() };
}

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

async function httpOk(url, ms = 30_000) {
  for (const t0 = Date.now(); Date.now() - t0 < ms; await sleep(100)) {
    try {
      if ((await fetch(url)).status < 500) return;
    } catch {
      /* not up yet */
    }
  }
  throw new Error(`${url} did not come up`);
}

const rssOf = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;
async function heapOf(adminUrl) {
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  return Number(/^streamgate_nodejs_heap_size_used_bytes (\S+)/m.exec(text)?.[1] ?? NaN);
}

async function load(url, seconds, kind, sockets) {
  const r = spawnRole('1', [fileURLToPath(import.meta.url), 'load', url, String(sockets), String(seconds), kind], { wait: null });
  return JSON.parse(await r.until((l) => l.startsWith('{'), (seconds + 60) * 1000));
}

async function main() {
  const seconds = num('WS_BENCH_SECONDS', 5);
  const reps = num('WS_BENCH_REPS', 3);
  const sockets = num('WS_BENCH_SOCKETS', 100);
  const idle = num('WS_BENCH_IDLE', 1000);
  const dist = process.env.SG_DIST ?? join(repo, 'dist');
  const [originPort, gatePort, adminPort, barePort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const origin = spawnRole('0', [fileURLToPath(import.meta.url), 'origin', String(originPort)]);
  await origin.ready;
  await spawnRole('0', [fileURLToPath(import.meta.url), 'bare', String(barePort), String(originPort)]).ready;

  const workDir = join(here, '.work');
  mkdirSync(workDir, { recursive: true });
  const configFile = join(workDir, 'ws-bench.json');
  const role = { hash: { enabled: true, secret: HASH_SECRET } };
  writeFileSync(
    configFile,
    JSON.stringify({
      listen: { host: '127.0.0.1', port: gatePort },
      admin: { enabled: true, host: '127.0.0.1', port: adminPort },
      origin: { url: `http://127.0.0.1:${originPort}` },
      log: { level: 'warn' },
      apps: { LiveApp: { publish: role, play: role } },
    }),
  );
  // Our own STREAMGATE_* overrides must not redirect the gate; the loader treats '' as unset.
  const env = {};
  for (const k of Object.keys(process.env)) if (k.startsWith('STREAMGATE_')) env[k] = '';
  const gate = spawnRole('0', [join(dist, 'cli', 'main.js'), 'serve', '--config', configFile], { wait: null, env });
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  await httpOk(`${adminUrl}/metrics`);

  const direct = `ws://127.0.0.1:${originPort}/LiveApp/websocket`;
  const via = `ws://127.0.0.1:${gatePort}/LiveApp/websocket`;
  const bare = `ws://127.0.0.1:${barePort}/LiveApp/websocket`;
  const rows = { json: { direct: [], gate: [], bare: [] }, parse: { direct: [], gate: [], bare: [] } };
  await load(via, 1, 'json', sockets); // warm-up (JIT, connection setup paths)
  for (let rep = 0; rep < reps; rep++) {
    for (const kind of ['json', 'parse']) {
      rows[kind].direct.push(await load(direct, seconds, kind, sockets));
      rows[kind].gate.push(await load(via, seconds, kind, sockets));
      rows[kind].bare.push(await load(bare, seconds, kind, sockets));
    }
  }
  // One socket: latency-bound rather than CPU-bound (the reference's relay figure is for this).
  const single = { direct: await load(direct, seconds, 'json', 1), gate: await load(via, seconds, 'json', 1), bare: await load(bare, seconds, 'json', 1) };

  // Idle memory: RSS and heap of the gate before and after `idle` idle relays.
  await sleep(1000);
  const rss0 = rssOf(gate.child.pid);
  const heap0 = await heapOf(adminUrl);
  const idler = spawnRole('1', [fileURLToPath(import.meta.url), 'idle', via, String(idle)], { wait: 'open' });
  await idler.ready;
  await sleep(2000);
  const rss1 = rssOf(gate.child.pid);
  const heap1 = await heapOf(adminUrl);
  idler.child.stdin.end();

  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const fmt = (x, d = 0) => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
  const lines = [`# ws-bench ${new Date().toISOString()} — ${sockets} sockets, ${FRAME_BYTES} B frames, ${reps}×${seconds} s, pinning ${pin ? 'on' : 'off'}`, ''];
  lines.push(
    '| frames | direct msg/s | gate msg/s | gate/direct | bare relay msg/s | gate/bare | direct p50/p99 µs | gate p50/p99 µs | added p50 µs | errors |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  );
  const row = (label, d, g, b) => {
    const [dr, gr, br] = [median(d.map((x) => x.rate)), median(g.map((x) => x.rate)), median(b.map((x) => x.rate))];
    const [dp, gp] = [median(d.map((x) => x.p50)), median(g.map((x) => x.p50))];
    const [d99, g99] = [median(d.map((x) => x.p99)), median(g.map((x) => x.p99))];
    const errs = [...d, ...g].reduce((s, x) => s + x.errors, 0);
    lines.push(`| ${label} | ${fmt(dr)} | ${fmt(gr)} | ${fmt(gr / dr, 2)} | ${fmt(br)} | ${fmt(gr / br, 2)} | ${fmt(dp)}/${fmt(d99)} | ${fmt(gp)}/${fmt(g99)} | ${fmt(gp - dp)} | ${errs} |`);
  };
  row(`${sockets} sockets, no parse needed`, rows.json.direct, rows.json.gate, rows.json.bare);
  row(`${sockets} sockets, JSON-parsed`, rows.parse.direct, rows.parse.gate, rows.parse.bare);
  row('1 socket, no parse needed', [single.direct], [single.gate], [single.bare]);
  lines.push('', `idle: ${idle} connections through the gate: RSS +${fmt((rss1 - rss0) / idle / 1024, 1)} KiB/conn, heap used +${fmt((heap1 - heap0) / idle / 1024, 1)} KiB/conn (garbage included: upper bounds)`);
  console.log(lines.join('\n'));
}

async function shutdown() {
  for (const c of children) c.kill('SIGTERM');
  await sleep(300);
  for (const c of children) c.kill('SIGKILL');
}

const [, , roleName, ...rest] = process.argv;
if (roleName === 'origin') runOrigin(Number(rest[0]));
else if (roleName === 'load') runLoad(rest[0], Number(rest[1]), Number(rest[2]), rest[3]);
else if (roleName === 'idle') runIdle(rest[0], Number(rest[1]));
else if (roleName === 'bare') runBare(Number(rest[0]), Number(rest[1]));
else {
  process.once('SIGINT', () => void shutdown().then(() => process.exit(130)));
  main()
    .catch((err) => {
      console.error(err);
      process.exitCode = 1;
    })
    .finally(shutdown);
}
