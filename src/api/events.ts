// Statistics endpoints (reference §5.6, §5.7): connection events as recorded by the gate
// (connection-events.ts), and the deprecated per-subscriber view the original removed in 3.0.
import { sendJson } from '../proxy/respond.js';
import { PAGE_MESSAGE, parsePage, MAX_PAGE_SIZE, result, sendResult, type ApiRequest, type ApiRoute } from './http.js';

async function connectionEvents(c: ApiRequest): Promise<void> {
  const page = parsePage(c.params.offset, c.params.size);
  if (!page) return sendResult(c.res, 400, result(false, PAGE_MESSAGE));
  const subscriberId = c.query.get('subscriberId') || undefined;
  sendJson(c.res, 200, await c.rt.store.listConnectionEvents(c.app.name, c.params.id!, page.offset, page.size, subscriberId));
}

/**
 * `SubscriberStats{subscriberId, streamId, connectionEvents[], avgVideoBitrate, avgAudioBitrate}`
 * per registered subscriber of the page, with that subscriber's first 250 events. Bitrates
 * are not measured by a proxy: always 0.
 */
async function subscriberStats(c: ApiRequest): Promise<void> {
  const page = parsePage(c.params.offset, c.params.size);
  if (!page) return sendResult(c.res, 400, result(false, PAGE_MESSAGE));
  const { store } = c.rt;
  const streamId = c.params.id!;
  const subscribers = await store.listSubscribers(c.app.name, streamId, page.offset, page.size);
  const stats = await Promise.all(
    subscribers.map(async (s) => ({
      subscriberId: s.subscriberId,
      streamId,
      connectionEvents: await store.listConnectionEvents(c.app.name, streamId, 0, MAX_PAGE_SIZE, s.subscriberId),
      avgVideoBitrate: 0,
      avgAudioBitrate: 0,
    })),
  );
  sendJson(c.res, 200, stats);
}

export const eventRoutes: ApiRoute[] = [
  { method: 'GET', pattern: [':id', 'connection-events', ':offset', ':size'], handler: connectionEvents, exclusive: true },
  { method: 'GET', pattern: [':id', 'subscriber-stats', 'list', ':offset', ':size'], handler: subscriberStats, exclusive: true },
];
