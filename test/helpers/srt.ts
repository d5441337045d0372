// Real SRT peers for the SRT door's tests: ffmpeg as the caller (encoder) and as the origin's
// listener (writing what it receives to a file), plus a raw UDP client that crafts handshakes.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import dgram from 'node:dgram';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './redis-server.js';
import { ExtensionType, RequestType, encodeStreamId, readHandshake, writeHandshake, type Handshake } from '../../src/srt/packet.js';

export function srtToolsMissing(): string | false {
  const r = spawnSync('ffmpeg', ['-hide_banner', '-protocols'], { encoding: 'utf8' });
  if (r.error) return 'ffmpeg not installed';
  return /^\s+srt$/m.test(r.stdout) ? false : 'ffmpeg without SRT support';
}

export interface SrtOrigin {
  port: number;
  /** Bytes the listener wrote (what reached the origin). */
  received(): number;
  /** Resolves when the listener exits (it serves one caller). */
  done: Promise<number | null>;
  stop(): void;
}

/** An ffmpeg SRT listener standing in for the origin's SRT port; it records one caller's stream. */
export async function startSrtOrigin(fixedPort?: number): Promise<SrtOrigin> {
  const dir = mkdtempSync(join(tmpdir(), 'sg-srt-'));
  const port = fixedPort ?? (await freePort());
  const out = join(dir, 'out.ts');
  const p = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', '-i', `srt://127.0.0.1:${port}?mode=listener&timeout=20000000`, '-c', 'copy', '-f', 'mpegts', out], { stdio: 'ignore' });
  const done = new Promise<number | null>((r) => p.once('exit', r));
  await sleep(500);
  return {
    port,
    received: () => (existsSync(out) ? statSync(out).size : 0),
    done,
    stop() {
      p.kill('SIGKILL');
      void done.then(() => rmSync(dir, { recursive: true, force: true }));
    },
  };
}

/** ffmpeg publishing a test stream (MPEG-TS over SRT) for `seconds`; resolves with exit code and stderr. */
export function ffmpegSrtPublish(url: string, seconds: number): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn('ffmpeg', ['-hide_banner', '-nostdin', '-re', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25', '-t', String(seconds), '-c:v', 'libx264', '-preset', 'ultrafast', '-f', 'mpegts', url], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => p.kill('SIGKILL'), (seconds + 20) * 1000);
    p.once('exit', (code) => {
      clearTimeout(t);
      resolve({ code, stderr });
    });
  });
}

export function handshake(over: Partial<Handshake> = {}): Handshake {
  return {
    destinationSocketId: 0,
    timestamp: 0,
    version: 4,
    type: 2,
    initialSequence: 1,
    mss: 1500,
    flightFlagSize: 8192,
    requestType: RequestType.induction,
    socketId: 0x1234,
    cookie: 0,
    peerIp: Buffer.alloc(16),
    extensions: [],
    ...over,
  };
}

export const conclusion = (sid: string | null, over: Partial<Handshake> = {}) =>
  writeHandshake(handshake({ version: 5, type: 5, requestType: RequestType.conclusion, cookie: 77, extensions: sid === null ? [] : [{ type: ExtensionType.sid, content: encodeStreamId(sid) }], ...over }));

/** A UDP peer on loopback that records what it receives. */
/** A UDP socket on loopback; `address` other than 127.0.0.1 makes it another client to the gate. */
export async function udpPeer(onMessage?: (msg: Buffer, from: dgram.RemoteInfo, sock: dgram.Socket) => void, address = '127.0.0.1') {
  const sock = dgram.createSocket('udp4');
  const got: Buffer[] = [];
  sock.on('message', (m, r) => {
    got.push(m);
    onMessage?.(m, r, sock);
  });
  await new Promise<void>((r) => sock.bind(0, address, r));
  return { sock, got, port: sock.address().port, close: () => new Promise<void>((r) => sock.close(() => r())) };
}

/**
 * A stand-in origin SRT listener of raw datagrams: answers each induction like an HSv5 listener (so
 * the gate learns the listener's socket id, 0x5555) and records every datagram it receives.
 */
export function standInSrtOrigin() {
  return udpPeer((msg, from, sock) => {
    try {
      const hs = readHandshake(msg);
      if (hs.requestType === RequestType.induction) sock.send(writeHandshake({ ...hs, version: 5, type: 0x4a17, socketId: 0x5555, cookie: 77, destinationSocketId: hs.socketId }), from.port, from.address);
    } catch {
      /* media: just recorded */
    }
  });
}
