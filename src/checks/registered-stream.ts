// "Accept undefined streams" off: publishing is allowed only for streams registered beforehand —
// in the store (REST `POST /create`, CLI) or, with `publish.registry: origin`, at the origin's REST API.
import { Reason } from '../errors.js';
import type { CheckResult, RequestContext } from '../decision/types.js';
import type { Store } from '../store/store.js';

/** Answers whether a stream exists somewhere other than the store (e.g. the origin's REST API). */
export interface StreamRegistry {
  exists(app: string, streamId: string): Promise<boolean>;
}

export async function checkRegisteredStream(ctx: RequestContext, registry: StreamRegistry | undefined, store: Store): Promise<CheckResult> {
  const found = registry ? await registry.exists(ctx.app, ctx.streamId) : (await store.getStream(ctx.app, ctx.streamId)) !== null;
  return found ? { ok: true } : { ok: false, status: 403, reason: Reason.streamNotRegistered };
}
