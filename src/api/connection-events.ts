// Recording connection events (reference §5.6) for the `connection-events` and `subscriber-stats`
// endpoints. Called by the gate when a playback starts or ends; statistics must never fail or slow
// a request, so this never rejects and the caller need not await it.
import { networkInterfaces, hostname } from 'node:os';
import type { Role } from '../decision/types.js';
import type { ConnectionEvent, Store } from '../store/store.js';
import type { Logger } from '../observability/logger.js';

let instanceAddress: string | undefined;

/** Ant Media's `instanceIP`: this replica's first non-internal IPv4 address (else the host name). */
export function instanceIP(): string {
  if (instanceAddress === undefined) {
    const all = Object.values(networkInterfaces()).flat();
    instanceAddress = all.find((i) => i && i.family === 'IPv4' && !i.internal)?.address ?? hostname();
  }
  return instanceAddress;
}

export interface ConnectionEventInput {
  streamId: string;
  subscriberId?: string | null | undefined;
  type: Role;
  eventType: ConnectionEvent['eventType'];
  eventProtocol: ConnectionEvent['eventProtocol'];
  /** ms; defaults to now. */
  timestamp?: number | undefined;
}

export async function recordConnectionEvent(deps: { store: Store; log: Logger }, app: string, e: ConnectionEventInput): Promise<void> {
  const event: ConnectionEvent = {
    timestamp: e.timestamp ?? Date.now(),
    eventType: e.eventType,
    instanceIP: instanceIP(),
    type: e.type,
    eventProtocol: e.eventProtocol,
    streamId: e.streamId,
    subscriberId: e.subscriberId ?? null,
  };
  try {
    await deps.store.addConnectionEvent(app, event);
  } catch (err) {
    deps.log.warn({ err, app, streamId: e.streamId }, 'connection event not recorded');
  }
}
