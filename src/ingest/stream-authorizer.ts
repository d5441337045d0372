// Authorization shared by the connection-oriented ingest doors (RTMP, SRT): one decision per stream a
// connection names, made by the same decide() and role policy as the HTTP and WebSocket doors, and
// a watch that ends the connection when the credential expires or is revoked (as on the WebSocket
// door: expiry by timer, revocation pushed at once, with an in-memory check every
// `ws.revocationCheckSeconds` as a fallback).
import type { Runtime } from '../runtime.js';
import type { Credentials, Door, Role } from '../decision/types.js';
import type { ReasonCode } from '../errors.js';
import { authorize } from '../authorize/authorize.js';
import { gatedTarget } from '../authorize/target.js';
import { ExpiryWatch, type EndCause } from '../ws/expiry-watch.js';

export interface StreamAsk {
  app: string;
  role: Role;
  streamId: string;
  credentials: Credentials;
  clientIp: string;
}

export type StreamVerdict =
  | { allow: true; streamId: string; expiresAt?: number | undefined; subscriberId?: string | undefined; revocable: boolean }
  | { allow: false; status: number; reason: ReasonCode };

/** Why a watched stream ended, as the reason code a door reports to its client. */
export const endReason = (cause: EndCause): ReasonCode => (cause === 'expired' ? 'token_expired' : cause === 'blocked' ? 'subscriber_blocked' : 'session_revoked');

export interface StreamAuthorizer {
  /** Decides through authorize(); never throws (an unexpected failure is a 500 internal_error deny, logged). */
  decide(ask: StreamAsk): Promise<StreamVerdict>;
  /**
   * Watches an allowed stream; `onEnd` runs once when it expires or is revoked. Returns a function
   * that stops watching (call it when the connection closes).
   */
  watch(ask: StreamAsk, v: Extract<StreamVerdict, { allow: true }>, onEnd: (cause: EndCause) => void): () => void;
}

export function createStreamAuthorizer(rt: Runtime, door: Door): StreamAuthorizer {
  return {
    async decide(ask) {
      const app = rt.apps.get(ask.app);
      if (!app) return { allow: false, status: 404, reason: 'app_not_found' };
      // Ingest is a publish of the stream; a play over RTMP/SRT is a command like WebSocket `play`.
      const target = gatedTarget(app, ask.role, ask.role === 'publish' ? 'ingest' : 'signalling', [ask.streamId]);
      const { decision: d } = await authorize(rt, door, target, { credentials: ask.credentials, clientIp: ask.clientIp, consume: true });
      if (!d.allow) return { allow: false, status: d.status, reason: d.reason };
      const subscriberId = d.subscriberId ?? ask.credentials.subscriberId;
      return { allow: true, streamId: ask.streamId, expiresAt: d.expiresAt, subscriberId, revocable: d.via !== 'open' || subscriberId !== undefined };
    },
    watch(ask, v, onEnd) {
      const expiresAt = rt.config.ws.enforceExpiry ? v.expiresAt : undefined;
      if (expiresAt === undefined && !v.revocable) return () => undefined;
      const w = new ExpiryWatch({
        app: ask.app,
        store: rt.store,
        // The replica's revocation cache (pushed bumps end the stream at once; the poll is a fallback).
        epochs: (a, st, u, role) => rt.sessions.current(a, st, u, role).then((e) => e.epochs),
        subscribe: (onBump) => rt.revocations.onBump(onBump),
        intervalMs: rt.config.ws.revocationCheckSeconds * 1000,
        log: rt.log,
        onEnd: (s, cause) => {
          rt.log.info({ door, app: ask.app, stream: s.streamId, role: s.role, subscriber: s.subscriberId, cause }, 'stream ended by the gate');
          onEnd(cause);
        },
      });
      // The baseline epochs are read now, from the source the watch reads: later checks compare against them.
      void rt.sessions
        .current(ask.app, v.streamId, v.subscriberId, ask.role)
        .then((c) => c.epochs, () => undefined)
        .then((epochs) => w.add({ key: `${ask.role}:${v.streamId}`, command: ask.role, streamId: v.streamId, role: ask.role, subscriberId: v.subscriberId, expiresAt, epochs, revocable: v.revocable, stopFrame: '' }));
      return () => w.close();
    },
  };
}
