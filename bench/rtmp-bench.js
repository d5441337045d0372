// RTMP publish throughput through the gate vs straight to the origin, in one run.
//
//   node bench/rtmp-bench.js            (after `npm run build`; needs nginx + libnginx-mod-rtmp)
//
// Origin: nginx-rtmp (`live on`). Publishers: synthetic RTMP clients in this process (handshake,
// connect, publish, then FLV video messages of 64 KiB on a 4096-byte chunk size), so the encoder's
// CPU does not blur the figures. The gate runs as its own `serve` process pinned to CPU 0 (nginx and
// the publishers on CPU 1), and its CPU time comes from /proc.
// Rows:
//   1 publisher, unthrottled, direct vs via gate  → Mbit/s each and the ratio
//   N publishers at R Mbit/s each via gate        → achieved aggregate vs target, gate CPU % and µs per Mbit
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeMessage } from '../dist/rtmp/chunk-reader.js';
import { encodeAmf0 } from '../dist/rtmp/amf0.js';
import { treeTicks } from './procstat.js';

const PUBLISHERS = Number(process.env.RTMP_PUBLISHERS ?? 50);
const MBPS = Number(process.env.RTMP_MBPS ?? 6);
const SECONDS = Number(process.env.RTMP_SECONDS ?? 10);
const TICK = 100; // Hz, clock ticks per second on Linux

async function freePort() {
  const s = net.createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

async function waitPort(port) {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise((r) => net.connect(port, '127.0.0.1').once('connect', function () { this.destroy(); r(true); }).once('error', () => r(false)));
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`port ${port} never opened`);
}

/** One synthetic publisher; resolves with bytes written after `seconds`. */
async function publisher(port, stream, mbps, seconds) {
  const s = net.connect(port, '127.0.0.1');
  s.setNoDelay(true);
  await new Promise((r, j) => s.once('connect', r).once('error', j));
  let buf = Buffer.alloc(0);
  s.on('data', (d) => (buf = Buffer.concat([buf, d])));
  s.write(Buffer.concat([Buffer.from([3]), Buffer.alloc(1536)]));
  while (buf.length < 3073) await sleep(2);
  s.write(buf.subarray(1, 1537));
  const size = Buffer.alloc(4);
  size.writeUInt32BE(4096);
  s.write(writeMessage(2, 1, 0, size, 128));
  s.write(writeMessage(3, 20, 0, encodeAmf0(['connect', 1, { app: 'LiveApp', type: 'nonprivate', tcUrl: `rtmp://127.0.0.1:${port}/LiveApp` }]), 4096));
  s.write(writeMessage(3, 20, 0, encodeAmf0(['createStream', 2, null]), 4096));
  s.write(writeMessage(3, 20, 1, encodeAmf0(['publish', 3, null, stream, 'live']), 4096));
  await sleep(300);
  const frame = Buffer.alloc(64 * 1024, 0x55);
  frame[0] = 0x27; // AVC inter frame
  frame[1] = 0x01; // NALU
  const message = writeMessage(6, 9, 1, frame, 4096);
  const end = Date.now() + seconds * 1000;
  const bytesPerMs = mbps > 0 ? (mbps * 1e6) / 8 / 1000 : Infinity;
  const started = Date.now();
  let sent = 0;
  while (Date.now() < end && !s.destroyed) {
    if (sent > (Date.now() - started) * bytesPerMs) {
      await sleep(5);
      continue;
    }
    if (!s.write(message)) await new Promise((r) => s.once('drain', r));
    sent += message.length;
  }
  s.destroy();
  return sent;
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'sg-rtmp-bench-'));
  const originPort = await freePort();
  const gatePort = await freePort();
  writeFileSync(
    join(dir, 'nginx.conf'),
    `load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;
daemon off; worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/error.log warn;
events { worker_connections 1024; }
rtmp { server { listen 127.0.0.1:${originPort}; chunk_size 4096; application LiveApp { live on; } } }
`,
  );
  writeFileSync(
    join(dir, 'gate.json'),
    JSON.stringify({
      listen: { host: '127.0.0.1', port: 0 },
      admin: { enabled: false },
      log: { level: 'warn' },
      origin: { url: 'http://127.0.0.1:9' },
      rtmp: { enabled: true, listen: { host: '127.0.0.1', port: gatePort }, origin: `127.0.0.1:${originPort}`, maxConnections: 5000 },
      apps: { LiveApp: {} },
    }),
  );
  const nginx = spawn('taskset', ['-c', '1', '/usr/sbin/nginx', '-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'ignore' });
  const gate = spawn('taskset', ['-c', '0', process.execPath, 'dist/cli/main.js', 'serve', '--config', join(dir, 'gate.json')], { stdio: ['ignore', 'ignore', 'inherit'] });
  const stop = () => {
    gate.kill('SIGKILL');
    nginx.kill('SIGTERM');
  };
  process.on('exit', stop);
  try {
    await waitPort(originPort);
    await waitPort(gatePort);
    const mbit = (bytes, s) => (bytes * 8) / 1e6 / s;

    const direct = await publisher(originPort, 'direct', 0, 5);
    const t0 = treeTicks(gate.pid);
    const viaGate = await publisher(gatePort, 'gated', 0, 5);
    const single = { direct: mbit(direct, 5), gate: mbit(viaGate, 5), gateCpu: (treeTicks(gate.pid) - t0) / TICK / 5 };

    const t1 = treeTicks(gate.pid);
    const sums = await Promise.all([...Array(PUBLISHERS)].map((_, i) => publisher(gatePort, `p${i}`, MBPS, SECONDS)));
    const cpu = (treeTicks(gate.pid) - t1) / TICK / SECONDS;
    const total = mbit(sums.reduce((a, b) => a + b, 0), SECONDS);
    const target = PUBLISHERS * MBPS;

    console.log(`| row | Mbit/s | ratio / share | gate CPU (one core) | gate CPU µs per Mbit |`);
    console.log(`|---|---:|---:|---:|---:|`);
    console.log(`| 1 publisher, unthrottled, direct to nginx-rtmp | ${single.direct.toFixed(0)} | | | |`);
    console.log(`| 1 publisher, unthrottled, through the gate | ${single.gate.toFixed(0)} | ${(single.gate / single.direct).toFixed(2)}× | ${(single.gateCpu * 100).toFixed(0)} % | ${((single.gateCpu * 1e6) / single.gate).toFixed(1)} |`);
    console.log(`| ${PUBLISHERS} publishers × ${MBPS} Mbit/s through the gate | ${total.toFixed(0)} of ${target} | ${((total / target) * 100).toFixed(0)} % | ${(cpu * 100).toFixed(0)} % | ${((cpu * 1e6) / total).toFixed(1)} |`);
  } finally {
    stop();
  }
}

await main();
process.exit(0);
