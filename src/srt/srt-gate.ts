// Front door 5: SRT ingest and playback (`srt.listen`, UDP), in front of the origin's SRT listener.
// The gate relays datagrams per caller (ip:port) through its own UDP socket to the origin, and reads
// only the handshake (packet.ts):
//   induction (caller → origin, and the origin's answer)  relayed: it carries no Stream ID, and the
//                                                         listener's cookie costs the origin nothing
//   conclusion (caller → origin)                          held; its Stream ID (stream-id.ts) is
//                                                         decided by the same core as every door
//       allowed → relayed, and from then on every datagram both ways, unchanged
//       refused → the caller gets a rejection handshake (ReqType 1000 + SRT_REJX code, e.g. 1401);
//                 the origin never sees the conclusion, so no media can flow
//   anything else before a decision                        dropped
// A credential that expires or is revoked ends the session with a shutdown packet to both sides.
//
// Bounds: `srt.maxSessions` callers, a handshake must conclude within `handshakeTimeoutMs`, a session
// idle for `idleTimeoutMs` is dropped, refused callers are remembered for 5 s (their retransmitted
// conclusions get the same rejection, never a second decision), nothing is buffered.
import dgram from 'node:dgram';
import { isIP } from 'node:net';
import { Counter, Gauge } from 'prom-client';
import type { Runtime } from '../runtime.js';
import type { ReasonCode } from '../errors.js';
import { normalizeIp } from '../request/client-ip.js';
import { createStreamAuthorizer, endReason, type StreamAsk } from '../ingest/stream-authorizer.js';
import { ControlType, RequestType, controlType, isControl, readHandshake, rejection, shutdown, streamIdOf, type Handshake } from './packet.js';
import { parseStreamId } from './stream-id.js';

export interface SrtGate {
  readonly socket: dgram.Socket;
  address(): string;
  readonly size: number;
  listen(): Promise<void>;
  /** Stops taking new callers; running sessions continue until they end or `timeoutMs` passes. */
  shutdown(timeoutMs: number): Promise<void>;
}

type State = 'handshake' | 'deciding' | 'allowed' | 'refused';

interface Session {
  key: string;
  address: string;
  port: number;
  upstream: dgram.Socket;
  /** Datagrams for the origin wait here until the upstream socket is connected. */
  backlog: Buffer[] | null;
  state: State;
  createdAt: number;
  lastSeen: number;
  callerSocketId: number;
  /**
   * What identifies the decided conclusion besides the socket id: its initial sequence number (libsrt
   * keys a caller connection by address, socket id and ISN) and its Stream ID.
   */
  decided: { initialSequence: number; streamId: string | undefined } | null;
  /** The origin listener's socket id, learned from its handshake answers. */
  originSocketId: number;
  /** The conclusion being decided (relayed when allowed); later ones are never relayed in its place. */
  pendingConclusion: Buffer | null;
  rejectPacket: Buffer | null;
  ask: StreamAsk | null;
  reason: string;
  bytesIn: number;
  bytesOut: number;
  unwatch: () => void;
}

/** SRT access-control rejection code (srtcore/access_control.h SRT_REJX_*) for a deny status. */
export function rejectCode(status: number): number {
  switch (status) {
    case 400:
    case 401:
    case 403:
    case 404:
    case 503:
      return 1000 + status;
    case 429:
      return 1402; // SRT_REJX_OVERLOAD
    default:
      return 1500; // SRT_REJX_ISE
  }
}

const REFUSED_MEMORY_MS = 5000;
/**
 * Callers of one source address that may be in their handshake at once. An induction costs a UDP
 * socket until the decision; this keeps one address from taking every session. (Spoofed sources are
 * a network-level problem, as for any UDP listener: anti-spoofing at the edge, and `maxSessions`.)
 */
const MAX_HANDSHAKES_PER_ADDRESS = 8;

/** `srt://host:port` or `host:port` → host and port. */
export function parseSrtOrigin(value: string): { host: string; port: number } {
  const url = new URL(value.includes('://') ? value : `srt://${value}`);
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port) };
}

function safeStreamIdOf(hs: Handshake): string | undefined {
  try {
    return streamIdOf(hs);
  } catch {
    return undefined;
  }
}

/**
 * Whether a handshake from an allowed caller's address belongs to the allowed connection: a
 * retransmission of the decided conclusion (same caller socket id, initial sequence number and
 * Stream ID). libsrt shares one UDP port among many sockets and its listener takes a handshake with
 * a new socket id or ISN as a new connection, so an induction, or any other conclusion, would open
 * a second connection the gate never decided (SRT RFC draft §4.3, Handshake Messages; libsrt
 * CUDTUnited::newConnection).
 */
function isOwnHandshake(packet: Buffer, s: Pick<Session, 'callerSocketId' | 'decided'>): boolean {
  try {
    const hs = readHandshake(packet);
    return (
      hs.requestType !== RequestType.induction &&
      hs.socketId === s.callerSocketId &&
      s.decided !== null &&
      hs.initialSequence === s.decided.initialSequence &&
      safeStreamIdOf(hs) === s.decided.streamId
    );
  } catch {
    return false;
  }
}

export function createSrtGate(rt: Runtime): SrtGate {
  const cfg = rt.config.srt;
  if (!cfg.origin) throw new TypeError('createSrtGate: srt.origin is required');
  const origin = parseSrtOrigin(cfg.origin);
  const family = isIP(origin.host) === 6 ? 'udp6' : 'udp4';
  const authorizer = createStreamAuthorizer(rt, 'srt');
  const r = rt.metrics.registry;
  const get = <T>(name: string, make: () => T): T => (r.getSingleMetric(name) as T | undefined) ?? make();
  const m = {
    sessions: get('streamgate_srt_sessions', () => new Gauge({ name: 'streamgate_srt_sessions', help: 'SRT callers with a session through the gate', registers: [r] })),
    closed: get('streamgate_srt_sessions_closed_total', () => new Counter({ name: 'streamgate_srt_sessions_closed_total', help: 'SRT sessions ended, by outcome and reason', labelNames: ['outcome', 'reason'], registers: [r] })),
    dropped: get('streamgate_srt_dropped_packets_total', () => new Counter({ name: 'streamgate_srt_dropped_packets_total', help: 'Datagrams dropped before a decision or from unknown callers', registers: [r] })),
  };
  const sessions = new Map<string, Session>();
  let accepting = true;
  const socket = dgram.createSocket({ type: cfg.listen.host.includes(':') ? 'udp6' : 'udp4', reuseAddr: false });

  const toCaller = (s: Session, packet: Buffer) => {
    s.bytesOut += packet.length;
    socket.send(packet, s.port, s.address);
  };

  /** Sessions still in their handshake, per source address: one address cannot fill the table. */
  const handshaking = new Map<string, number>();
  const settled = new WeakSet<Session>();
  /** The session left its handshake (decided or closed): it no longer counts against its address. */
  const settle = (s: Session) => {
    if (settled.has(s)) return;
    settled.add(s);
    const n = (handshaking.get(s.address) ?? 1) - 1;
    if (n > 0) handshaking.set(s.address, n);
    else handshaking.delete(s.address);
  };

  const close = (s: Session, outcome: 'allow' | 'deny' | 'error', reason: string) => {
    if (sessions.get(s.key) !== s) return;
    settle(s);
    sessions.delete(s.key);
    s.unwatch();
    s.upstream.close();
    m.sessions.dec();
    if (s.state !== 'refused') m.closed.labels(outcome, reason).inc(); // refusals were counted when made
    rt.log.info({ door: 'srt', ip: s.address, app: s.ask?.app ?? null, stream: s.ask?.streamId ?? null, role: s.ask?.role ?? null, outcome, reason, bytesIn: s.bytesIn, bytesOut: s.bytesOut, durationMs: Date.now() - s.createdAt }, 'srt session closed');
  };

  const open = (address: string, port: number, hs: Handshake): Session | null => {
    if (!accepting || sessions.size >= cfg.maxSessions) return null;
    if ((handshaking.get(address) ?? 0) >= MAX_HANDSHAKES_PER_ADDRESS) return null;
    const upstream = dgram.createSocket(family);
    const s: Session = {
      key: `${address}|${port}`,
      address,
      port,
      upstream,
      backlog: [],
      state: 'handshake',
      createdAt: Date.now(),
      lastSeen: Date.now(),
      callerSocketId: hs.socketId,
      decided: null,
      originSocketId: 0,
      pendingConclusion: null,
      rejectPacket: null,
      ask: null,
      reason: 'handshake_timeout',
      bytesIn: 0,
      bytesOut: 0,
      unwatch: () => undefined,
    };
    upstream.on('message', (packet) => {
      if (sessions.get(s.key) !== s || s.state === 'refused') return;
      if (isControl(packet) && controlType(packet) === ControlType.handshake) {
        try {
          const answer = readHandshake(packet);
          if (answer.socketId) s.originSocketId = answer.socketId;
        } catch {
          return; // the origin's own handshake is malformed: not ours to pass on
        }
      }
      toCaller(s, packet);
    });
    upstream.on('error', () => close(s, 'error', 'origin_unavailable'));
    upstream.connect(origin.port, origin.host, () => {
      const waiting = s.backlog ?? [];
      s.backlog = null;
      for (const p of waiting) upstream.send(p);
    });
    sessions.set(s.key, s);
    handshaking.set(address, (handshaking.get(address) ?? 0) + 1);
    m.sessions.inc();
    return s;
  };

  const toOrigin = (s: Session, packet: Buffer) => {
    s.bytesIn += packet.length;
    if (s.backlog) s.backlog.length < 64 && s.backlog.push(packet);
    else s.upstream.send(packet);
  };

  const decideConclusion = async (s: Session, hs: Handshake) => {
    let sid: string | undefined;
    let parsed;
    try {
      sid = streamIdOf(hs);
      parsed = parseStreamId(sid);
    } catch (err) {
      parsed = { problem: (err as Error).message, code: 1400 as const };
    }
    let code: number;
    let reason: ReasonCode | string;
    if ('problem' in parsed) {
      code = parsed.code;
      reason = 'stream_id_invalid';
      rt.log.info({ door: 'srt', ip: s.address, problem: parsed.problem }, 'srt caller refused');
    } else {
      const ask: StreamAsk = { ...parsed, clientIp: normalizeIp(s.address) };
      s.ask = ask;
      const v = await authorizer.decide(ask);
      if (sessions.get(s.key) !== s) return;
      if (v.allow) {
        s.state = 'allowed';
        s.reason = 'ok';
        settle(s);
        const conclusion = s.pendingConclusion;
        s.pendingConclusion = null;
        if (conclusion) toOrigin(s, conclusion);
        s.unwatch = authorizer.watch(ask, v, (cause) => {
          toCaller(s, shutdown(s.callerSocketId));
          if (s.originSocketId) toOrigin(s, shutdown(s.originSocketId));
          close(s, 'allow', endReason(cause));
        });
        return;
      }
      code = rejectCode(v.status);
      reason = v.reason;
    }
    s.state = 'refused';
    s.reason = reason;
    settle(s);
    s.pendingConclusion = null;
    s.rejectPacket = rejection(hs, code, s.originSocketId);
    toCaller(s, s.rejectPacket);
    m.closed.labels('deny', reason).inc();
  };

  const onCallerPacket = (packet: Buffer, rinfo: dgram.RemoteInfo) => {
    const key = `${rinfo.address}|${rinfo.port}`;
    let s = sessions.get(key);
    if (s?.state === 'allowed') {
      s.lastSeen = Date.now();
      if (isControl(packet) && controlType(packet) === ControlType.handshake && !isOwnHandshake(packet, s)) return void m.dropped.inc();
      return toOrigin(s, packet);
    }
    // Before a decision only handshakes count; anything else (media, keep-alives) is dropped.
    let hs: Handshake;
    try {
      if (!isControl(packet) || controlType(packet) !== ControlType.handshake) throw new Error('not a handshake');
      hs = readHandshake(packet);
    } catch {
      m.dropped.inc();
      return;
    }
    if (!s) {
      if (hs.requestType !== RequestType.induction) return void m.dropped.inc();
      s = open(rinfo.address, rinfo.port, hs) ?? undefined;
      if (!s) return void m.dropped.inc();
    }
    s.lastSeen = Date.now();
    switch (s.state) {
      case 'refused':
        if (hs.requestType === RequestType.conclusion && s.rejectPacket) toCaller(s, s.rejectPacket);
        return;
      case 'deciding':
        // Retransmissions wait for the decision; the origin's answer to the decided conclusion
        // answers them too. A different conclusion here must not take the decided one's place.
        return void m.dropped.inc();
      case 'handshake':
        if (hs.requestType === RequestType.induction) return toOrigin(s, packet);
        if (hs.requestType !== RequestType.conclusion) return void m.dropped.inc();
        s.callerSocketId = hs.socketId;
        s.decided = { initialSequence: hs.initialSequence, streamId: safeStreamIdOf(hs) };
        s.state = 'deciding';
        s.pendingConclusion = packet;
        void decideConclusion(s, hs);
    }
  };

  socket.on('message', onCallerPacket);
  socket.on('error', (err) => rt.log.error({ err, door: 'srt' }, 'srt listener error'));

  const sweeper = setInterval(() => {
    const now = Date.now();
    for (const s of sessions.values()) {
      if (s.state === 'refused' && now - s.lastSeen > REFUSED_MEMORY_MS) close(s, 'deny', s.reason);
      else if ((s.state === 'handshake' || s.state === 'deciding') && now - s.createdAt > cfg.handshakeTimeoutMs) close(s, 'deny', 'handshake_timeout');
      else if (s.state === 'allowed' && now - s.lastSeen > cfg.idleTimeoutMs) close(s, 'allow', 'idle');
    }
  }, 250);
  sweeper.unref();

  return {
    socket,
    get size() {
      return sessions.size;
    },
    address() {
      try {
        const a = socket.address();
        return `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
      } catch {
        return '';
      }
    },
    listen: () =>
      new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(cfg.listen.port, cfg.listen.host, () => {
          socket.off('error', reject);
          resolve();
        });
      }),
    async shutdown(timeoutMs: number) {
      accepting = false;
      const deadline = Date.now() + timeoutMs;
      while ([...sessions.values()].some((s) => s.state === 'allowed') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      for (const s of [...sessions.values()]) {
        if (s.state === 'allowed') toCaller(s, shutdown(s.callerSocketId));
        close(s, s.state === 'allowed' ? 'allow' : 'deny', 'shutdown');
      }
      clearInterval(sweeper);
      await new Promise<void>((resolve) => socket.close(() => resolve()));
    },
  };
}
