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

interface Children {
  decisions: Map<string, { inc(): void }>;
  seconds: Map<Door, { observe(v: number): void }>;
}
// Per Metrics object (a test's registry is its own). Bounded by the label sets the counter itself keeps.
const childrenOf = new WeakMap<Metrics, Children>();
function children(m: Metrics): Children {
  let c = childrenOf.get(m);
  if (!c) childrenOf.set(m, (c = { decisions: new Map(), seconds: new Map() }));
  return c;
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
  const c = children(rt.metrics);
  // Label children resolved once per label set: prom-client's labels() hashes the values every call.
  const key = `${ctx.app}\u0000${ctx.role}\u0000${outcome}\u0000${reason}\u0000${via}\u0000${door}`;
  let counter = c.decisions.get(key);
  if (!counter) c.decisions.set(key, (counter = rt.metrics.decisions.labels(ctx.app, ctx.role, outcome, reason, via, door)));
  counter.inc();
  let histogram = c.seconds.get(door);
  if (!histogram) c.seconds.set(door, (histogram = rt.metrics.decisionSeconds.labels(door)));
  histogram.observe(seconds);
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
