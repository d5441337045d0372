// Authorization shared by the connection-oriented ingest doors (RTMP, SRT): one decision per stream a
// connection names, made by the same decide() and role policy as the HTTP and WebSocket doors, and
// a watch that ends the connection when the credential expires or is revoked (as on the WebSocket
// door: expiry by timer, revocation by an epoch read every `ws.revocationCheckSeconds`).
import type { Runtime } from '../runtime.js';
import type { Credentials, Role } from '../decision/types.js';
import type { ReasonCode } from '../errors.js';
import { decide } from '../decision/decide.js';
import { recordDecision, type Door } from '../decision/record.js';
import { buildContext } from '../request/context.js';
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
  | { allow: false; status: number; reason: ReasonCode | 'internal_error' };

/** Why a watched stream ended, as the reason code a door reports to its client. */
export const endReason = (cause: EndCause): ReasonCode => (cause === 'expired' ? 'token_expired' : cause === 'blocked' ? 'subscriber_blocked' : 'session_revoked');

export interface StreamAuthorizer {
  /** Decides; never throws (an unexpected failure is a deny with reason internal_error, logged). */
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
      const startedAt = performance.now();
      const ctx = buildContext({ app: ask.app, streamIds: [ask.streamId], role: ask.role, kind: ask.role === 'publish' ? 'ingest' : 'signalling', clientIp: ask.clientIp, credentials: ask.credentials, method: 'GET' });
      try {
        const d = await decide(ctx, app[ask.role], { store: rt.store, registry: rt.registries.get(ask.app) });
        recordDecision(rt, door, ctx, d, startedAt);
        if (!d.allow) return { allow: false, status: d.status, reason: d.reason };
        const subscriberId = d.subscriberId ?? ask.credentials.subscriberId;
        return { allow: true, streamId: ask.streamId, expiresAt: d.expiresAt, subscriberId, revocable: d.via !== 'open' || subscriberId !== undefined };
      } catch (err) {
        rt.log.error({ err, door, app: ask.app, stream: ask.streamId }, 'stream decision failed');
        return { allow: false, status: 500, reason: 'internal_error' };
      }
    },
    watch(ask, v, onEnd) {
      const expiresAt = rt.config.ws.enforceExpiry ? v.expiresAt : undefined;
      if (expiresAt === undefined && !v.revocable) return () => undefined;
      const w = new ExpiryWatch({
        app: ask.app,
        store: rt.store,
        intervalMs: rt.config.ws.revocationCheckSeconds * 1000,
        log: rt.log,
        onEnd: (s, cause) => {
          rt.log.info({ door, app: ask.app, stream: s.streamId, role: s.role, subscriber: s.subscriberId, cause }, 'stream ended by the gate');
          onEnd(cause);
        },
      });
      // The baseline epochs are read now: the first poll compares against them.
      void rt.store
        .getEpochs(ask.app, v.streamId, v.subscriberId)
        .catch(() => undefined)
        .then((epochs) => w.add({ key: `${ask.role}:${v.streamId}`, command: ask.role, streamId: v.streamId, role: ask.role, subscriberId: v.subscriberId, expiresAt, epochs, revocable: v.revocable, stopFrame: '' }));
      return () => w.close();
    },
  };
}
