// A RequestContext for unit tests of checks: a play request for LiveApp/stream1 unless overridden.
import type { RequestContext } from '../../src/decision/types.js';

export function testContext(over: Partial<RequestContext> = {}): RequestContext {
  return {
    app: 'LiveApp',
    streamId: 'stream1',
    streamIds: ['stream1'],
    role: 'play',
    kind: 'manifest',
    clientIp: '127.0.0.1',
    credentials: {},
    consume: true,
    now: Date.now(),
    ...over,
  };
}
