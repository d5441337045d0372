// One log line and one metric per decision, whichever front door asked. Only identifiers go in:
// app, stream, role, subscriber id, outcome, reason, credential kind — never a token or a code.
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { Decision, Door, RequestContext } from './types.js';

export type { Door };

/** Where a decision is recorded: the process logger and metrics. */
export interface RecordSink {
  log: Logger;
  metrics: Metrics;
}

/**
 * One `decision` log line (info; debug for grant-authorized segments; error for `internal_error`)
 * and one `streamgate_decisions_total` + `streamgate_decision_seconds` sample.
 */
export function recordDecision(rt: RecordSink, door: Door, ctx: RequestContext, d: Decision, startedAt: number): void {
  const seconds = (performance.now() - startedAt) / 1000;
  const outcome = d.allow ? 'allow' : 'deny';
  const reason = d.allow ? 'ok' : d.reason;
  const via = d.allow ? d.via : 'none';
  rt.metrics.decisions.labels(ctx.app, ctx.role, outcome, reason, via, door).inc();
  rt.metrics.decisionSeconds.labels(door).observe(seconds);
  // Grant-authorized segments are the hot path: their allow lines go to debug, everything else info.
  const level = d.allow ? (d.via === 'grant' && ctx.kind === 'segment' ? 'debug' : 'info') : d.reason === 'internal_error' ? 'error' : 'info';
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
