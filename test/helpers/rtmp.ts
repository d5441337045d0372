// Real RTMP peers for the RTMP door's tests: an nginx-rtmp origin (Debian libnginx-mod-rtmp), ffmpeg
// as the encoder and ffprobe as the player, and a raw client that speaks the protocol byte by byte
// (for malformed input the real tools never send).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './redis-server.js';
import { ChunkReader, writeMessage, type RtmpMessage } from '../../src/rtmp/chunk-reader.js';
import { decodeAmf0, encodeAmf0, type AmfValue } from '../../src/rtmp/amf0.js';

const RTMP_MODULE = '/usr/lib/nginx/modules/ngx_rtmp_module.so';

/** A skip reason when the tools the RTMP tests need are missing, else false. */
export function rtmpToolsMissing(): string | false {
  if (!existsSync('/usr/sbin/nginx') || !existsSync(RTMP_MODULE)) return 'nginx with libnginx-mod-rtmp not installed';
  if (spawnSync('ffmpeg', ['-version']).error) return 'ffmpeg not installed';
  return false;
}

export interface RtmpOrigin {
  port: number;
  /** nginx-rtmp's access log: one line per connection, with PUBLISH/PLAY and the stream name. */
  accessLog(): string;
  stop(): Promise<void>;
}

export async function startNginxRtmp(apps: string[] = ['LiveApp']): Promise<RtmpOrigin> {
  const dir = mkdtempSync(join(tmpdir(), 'sg-rtmp-'));
  const port = await freePort();
  writeFileSync(
    join(dir, 'nginx.conf'),
    `load_module ${RTMP_MODULE};
daemon off; worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/error.log info;
events { worker_connections 256; }
rtmp {
  access_log ${dir}/access.log;
  server {
    listen 127.0.0.1:${port};
    ${apps.map((a) => `application ${a} { live on; }`).join('\n    ')}
  }
}
`,
  );
  writeFileSync(join(dir, 'access.log'), '');
  const proc: ChildProcess = spawn('/usr/sbin/nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    if (await new Promise<boolean>((r) => net.connect(port, '127.0.0.1').once('connect', function (this: net.Socket) { this.destroy(); r(true); }).once('error', () => r(false)))) break;
    await sleep(50);
  }
  return {
    port,
    accessLog: () => readFileSync(join(dir, 'access.log'), 'utf8'),
    async stop() {
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface ToolRun {
  code: number | null;
  stderr: string;
  ms: number;
}

function run(cmd: string, args: string[], timeoutMs: number): Promise<ToolRun> {
  const started = Date.now();
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.once('exit', (code) => {
      clearTimeout(t);
      resolve({ code, stderr, ms: Date.now() - started });
    });
  });
}

/** ffmpeg publishing an ffmpeg-made test stream (H.264 + AAC, FLV over RTMP) for `seconds`. */
export function ffmpegPublish(url: string, seconds: number): Promise<ToolRun> {
  return run(
    'ffmpeg',
    ['-hide_banner', '-nostdin', '-re', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440', '-t', String(seconds), '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-c:a', 'aac', '-f', 'flv', url],
    (seconds + 20) * 1000,
  );
}

/** ffprobe reading a live RTMP stream: the stream types it found on stdout, one per line. */
export function ffprobeStreams(url: string): Promise<{ code: number | null; out: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn('ffprobe', ['-hide_banner', '-v', 'error', '-rw_timeout', '5000000', '-show_entries', 'stream=codec_type', '-of', 'csv=p=0', url], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let stderr = '';
    p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => p.kill('SIGKILL'), 15_000);
    p.once('exit', (code) => {
      clearTimeout(t);
      resolve({ code, out, stderr });
    });
  });
}

/** A raw RTMP client: handshake, then messages written and read with the project's own codec. */
export class RawRtmpClient {
  readonly socket: net.Socket;
  readonly received: { name: string; values: AmfValue[]; msg: RtmpMessage }[] = [];
  closed = false;
  private readonly reader = new ChunkReader(1 << 20);
  private buf = Buffer.alloc(0);
  private handshakeDone = false;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => undefined);
  }

  static async open(port: number, opts: { proxyHeader?: Buffer; handshake?: boolean; localAddress?: string } = {}): Promise<RawRtmpClient> {
    const socket = net.connect({ port, host: '127.0.0.1', ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) });
    await new Promise((r, j) => socket.once('connect', r).once('error', j));
    const c = new RawRtmpClient(socket);
    if (opts.proxyHeader) socket.write(opts.proxyHeader);
    if (opts.handshake !== false) await c.handshake();
    return c;
  }

  async handshake(): Promise<void> {
    const c1 = Buffer.alloc(1536);
    this.socket.write(Buffer.concat([Buffer.from([3]), c1]));
    await this.until(() => this.buf.length >= 3073, 5000);
    this.socket.write(this.buf.subarray(1, 1537));
    const rest = this.buf.subarray(3073);
    this.buf = Buffer.alloc(0);
    this.handshakeDone = true;
    if (rest.length) this.feed(rest);
  }

  private onData(d: Buffer): void {
    if (!this.handshakeDone) {
      this.buf = Buffer.concat([this.buf, d]);
      return;
    }
    this.feed(d);
  }

  private feed(d: Buffer): void {
    for (const msg of this.reader.feed(d)) {
      if (msg.typeId !== 20) continue;
      const values = decodeAmf0(msg.payload);
      this.received.push({ name: String(values[0]), values, msg });
    }
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  command(values: AmfValue[], streamId = 0, csid = 3, chunkSize = 128): void {
    this.write(writeMessage(csid, 20, streamId, encodeAmf0(values), chunkSize));
  }

  async until(cond: () => boolean, timeoutMs = 5000): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    while (!cond()) {
      if (Date.now() > end) return false;
      await sleep(10);
    }
    return true;
  }

  /** The description of the first error the gate or origin sent (`_error` or onStatus level error). */
  errorDescription(): string | undefined {
    for (const r of this.received) {
      const info = r.values[3] as Record<string, unknown> | undefined;
      if (info && typeof info === 'object' && info.level === 'error') return String(info.description ?? info.code);
    }
    return undefined;
  }

  close(): void {
    this.socket.destroy();
  }
}
