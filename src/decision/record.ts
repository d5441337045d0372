// One log line and one metric per decision, whichever front door asked. Only identifiers go in:
// app, stream, role, subscriber id, outcome, reason, credential kind — never a token or a code.
import type { ServerResponse } from 'node:http';
import type { Runtime } from '../runtime.js';
import { noteResponse } from '../observability/response-note.js';
import type { Decision, RequestContext } from './types.js';

export type Door = 'proxy' | 'verify' | 'websocket';

/** `res`: the HTTP response the decision answers, so its access log line carries the reason. */
export function recordDecision(rt: Runtime, door: Door, ctx: RequestContext, d: Decision, startedAt: number, res?: ServerResponse): void {
  const seconds = (performance.now() - startedAt) / 1000;
  const outcome = d.allow ? 'allow' : 'deny';
  const reason = d.allow ? 'ok' : d.reason;
  const via = d.allow ? d.via : 'none';
  noteResponse(res, { reason, via, app: ctx.app, stream: (d.allow ? d.streamId : undefined) ?? ctx.streamId });
  rt.metrics.decisions.labels(ctx.app, ctx.role, outcome, reason, via, door).inc();
  rt.metrics.decisionSeconds.labels(door).observe(seconds);
  // Grant-authorized segments are the hot path: their allow lines go to debug, everything else info.
  const level = d.allow ? (d.via === 'grant' && ctx.kind === 'segment' ? 'debug' : 'info') : 'info';
  if (!rt.log.isLevelEnabled(level)) return;
  rt.log[level](
    {
      door,
      app: ctx.app,
      stream: ctx.streamId,
      role: ctx.role,
      kind: ctx.kind,
      subscriber: (d.allow ? d.subscriberId : undefined) ?? ctx.credentials.subscriberId,
      ip: ctx.clientIp,
      outcome,
      reason,
      via,
      latencyMs: Math.round(seconds * 1e6) / 1000,
    },
    'decision',
  );
}
