// Subscriber endpoints (reference §5.4, §5.5, §5.7), answered from our store. Secrets are
// write-only; blocks are 64-bit safe (the original overflowed an int past ~24.8 days); re-adding a
// subscriber keeps its block, and a changed secret ends the playbacks opened with the old one.
import type { Role } from '../decision/types.js';
import type { BlockType, Subscriber } from '../store/store.js';
import { totpCode, totpKeyFor } from '../checks/totp-subscriber.js';
import { validateSubscriber } from './subscriber-validation.js';
import { sendJson } from '../proxy/respond.js';
import { asObject, PAGE_MESSAGE, parsePage, readJsonBody, result, sendResult, type ApiRequest, type ApiRoute } from './http.js';

export const SubscriberApiMessage = {
  blank: 'streamId or subscriberId is blank',
  noSecret: 'Secret is not set in AppSettings. Please set timetokensecret publish or play in Application settings',
  badTotpType: "Invalid type. Supported types are 'play' and 'publish'",
  badBlockType: "Invalid block type. Supported types are 'play', 'publish' and 'publish_play'",
  badSeconds: 'seconds must be a non-negative integer',
} as const;

const MAX_SUBSCRIBER_ID = 256;

/** The stored record as the API shows it: everything but the secret. */
export function subscriberJson(s: Subscriber): Record<string, unknown> {
  return {
    subscriberId: s.subscriberId,
    subscriberName: s.subscriberName ?? null,
    streamId: s.streamId,
    type: s.type,
    concurrentConnectionsLimit: s.concurrentConnectionsLimit,
    blockedType: s.blockedType ?? null,
    blockedUntilUnitTimeStampMs: s.blockedUntilUnitTimeStampMs,
    totpExpiryPeriodSeconds: s.totpExpiryPeriodSeconds ?? null,
  };
}

function numberOrUndefined(v: unknown): number | undefined {
  return v === undefined || v === null ? undefined : (v as number);
}

/** `POST /{id}/subscribers`: Result with HTTP 200 also on validation errors, as the original. */
async function addSubscriber(c: ApiRequest): Promise<void> {
  const body = await readJsonBody(c.req);
  if (!body.ok) return sendResult(c.res, body.status, result(false, body.message));
  const b = asObject(body.value) ?? {};
  const streamId = c.params.id!;
  const candidate: Partial<Subscriber> = {
    subscriberId: b.subscriberId as string,
    streamId,
    subscriberName: typeof b.subscriberName === 'string' ? b.subscriberName : null,
    // The original leaves a missing type unset; the least privilege reading of that is play.
    type: (b.type === undefined || b.type === null ? 'play' : b.type) as Role,
    b32Secret: typeof b.b32Secret === 'string' && b.b32Secret !== '' ? b.b32Secret : (b.b32Secret as null | undefined),
    totpExpiryPeriodSeconds: numberOrUndefined(b.totpExpiryPeriodSeconds),
    concurrentConnectionsLimit: numberOrUndefined(b.concurrentConnectionsLimit),
  };
  const problem = validateSubscriber(candidate);
  if (problem) return sendResult(c.res, 200, result(false, problem));
  if (candidate.subscriberId!.length > MAX_SUBSCRIBER_ID) return sendResult(c.res, 200, result(false, `subscriberId is longer than ${MAX_SUBSCRIBER_ID} characters`));

  const store = c.rt.store;
  const existing = await store.getSubscriber(c.app.name, streamId, candidate.subscriberId!);
  const subscriber: Subscriber = {
    subscriberId: candidate.subscriberId!,
    streamId,
    subscriberName: candidate.subscriberName ?? null,
    type: candidate.type!,
    b32Secret: candidate.b32Secret || null,
    totpExpiryPeriodSeconds: candidate.totpExpiryPeriodSeconds ?? null,
    concurrentConnectionsLimit: candidate.concurrentConnectionsLimit ?? 1,
    // A block is an operator decision: re-registering must not lift it.
    blockedType: existing?.blockedType ?? null,
    blockedUntilUnitTimeStampMs: existing?.blockedUntilUnitTimeStampMs ?? 0,
  };
  // New secret: delete first, which bumps the subscriber's epoch so sessions opened with codes of
  // the old secret end at their next refresh. Same secret (a retried call): nothing to end.
  if (existing && (existing.b32Secret ?? null) !== subscriber.b32Secret) await store.deleteSubscriber(c.app.name, streamId, subscriber.subscriberId);
  await store.putSubscriber(c.app.name, subscriber);
  sendResult(c.res, 200, result(true, ''));
}

async function listSubscribers(c: ApiRequest): Promise<void> {
  const page = parsePage(c.params.offset, c.params.size);
  if (!page) return sendResult(c.res, 400, result(false, PAGE_MESSAGE));
  const list = await c.rt.store.listSubscribers(c.app.name, c.params.id!, page.offset, page.size);
  sendJson(c.res, 200, list.map(subscriberJson));
}

async function deleteSubscriber(c: ApiRequest): Promise<void> {
  sendResult(c.res, 200, result(await c.rt.store.deleteSubscriber(c.app.name, c.params.id!, c.params.sid!)));
}

async function deleteSubscribers(c: ApiRequest): Promise<void> {
  await c.rt.store.deleteSubscribers(c.app.name, c.params.id!);
  sendResult(c.res, 200, result(true));
}

/** `GET /{id}/subscribers/{sid}/totp?type=`: the code the gate accepts right now, in `dataId`. */
async function getTotp(c: ApiRequest): Promise<void> {
  const rawType = c.query.get('type');
  // The original picks the publish secret for anything but "play"; an explicit junk type is refused.
  const type: Role | null = rawType === null || rawType === '' || rawType === 'play' ? 'play' : rawType === 'publish' ? 'publish' : null;
  if (type === null) return sendResult(c.res, 400, result(false, SubscriberApiMessage.badTotpType));
  const { id: streamId, sid: subscriberId } = c.params as { id: string; sid: string };
  if (subscriberId.trim() === '') return sendResult(c.res, 200, result(false, SubscriberApiMessage.blank));
  const subscriber = await c.rt.store.getSubscriber(c.app.name, streamId, subscriberId);
  // Same key function as the gate's TOTP check, so this code is exactly what the gate accepts.
  const key = totpKeyFor({ policy: c.app.config[type].totp, subscriberId, streamId, type, subscriber });
  if (!key) return sendResult(c.res, 200, result(false, SubscriberApiMessage.noSecret, ''));
  sendResult(c.res, 200, result(true, '', totpCode(key.key, key.periodSeconds, Date.now())));
}

/** `PUT /{id}/subscribers/{sid}/block/{seconds}/{type}`; 0 seconds unblocks. */
async function blockSubscriber(c: ApiRequest): Promise<void> {
  const { id: streamId, sid: subscriberId, seconds: rawSeconds, type } = c.params as Record<string, string>;
  if (subscriberId!.trim() === '') return sendResult(c.res, 200, result(false, SubscriberApiMessage.blank));
  if (type !== 'play' && type !== 'publish' && type !== 'publish_play') return sendResult(c.res, 400, result(false, SubscriberApiMessage.badBlockType));
  if (!/^\d{1,15}$/.test(rawSeconds!)) return sendResult(c.res, 400, result(false, SubscriberApiMessage.badSeconds));
  const seconds = Number(rawSeconds);
  // ms arithmetic in doubles is exact below 2^53 (~285,000 years): long blocks just work.
  const untilMs = seconds === 0 ? 0 : Date.now() + seconds * 1000;
  if (!Number.isSafeInteger(untilMs)) return sendResult(c.res, 400, result(false, SubscriberApiMessage.badSeconds));
  // Bumps the epoch of the blocked role: the subscriber's live sessions of that role end (playbacks
  // at their next refresh, WebSocket/RTMP/SRT streams at once); unblocking bumps nothing.
  await c.rt.store.blockSubscriber(c.app.name, streamId!, subscriberId!, type as BlockType, untilMs);
  sendResult(c.res, 200, result(true, ''));
}

export const subscriberRoutes: ApiRoute[] = [
  { method: 'POST', pattern: [':id', 'subscribers'], handler: addSubscriber, exclusive: true },
  { method: 'DELETE', pattern: [':id', 'subscribers'], handler: deleteSubscribers, exclusive: true },
  { method: 'GET', pattern: [':id', 'subscribers', 'list', ':offset', ':size'], handler: listSubscribers, exclusive: true },
  { method: 'DELETE', pattern: [':id', 'subscribers', ':sid'], handler: deleteSubscriber, exclusive: true },
  { method: 'GET', pattern: [':id', 'subscribers', ':sid', 'totp'], handler: getTotp, exclusive: true },
  { method: 'PUT', pattern: [':id', 'subscribers', ':sid', 'block', ':seconds', ':type'], handler: blockSubscriber, exclusive: true },
];
