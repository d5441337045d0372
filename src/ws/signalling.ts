// Inspection of one client's signalling: every client frame goes through here, in order. Commands
// that start media are authorized by the same decision core as HTTP; refused ones never reach the
// origin and the client gets the original's error frame. While a decision is pending the client's
// socket is paused and later frames wait, so the origin sees frames in the order they were sent.
import type { Runtime } from '../runtime.js';
import type { AppRuntime } from '../decision/policy.js';
import { authorize } from '../authorize/authorize.js';
import { gatedTarget } from '../authorize/target.js';
import type { Epochs } from '../store/store.js';
import { Reason } from '../errors.js';
import { Hold, type Relay } from './relay.js';
import { ExpiryWatch, type EndCause, type WatchedStream } from './expiry-watch.js';
import { Definition, definitionFor, errorFrame, forwardedFrame, inspectFrame, type DefinitionCode, type GatedCommand } from './frames.js';

export interface SignallingEvents {
  refused(definition: DefinitionCode): void;
  ended(cause: EndCause): void;
}

/** Frames that may wait behind a pending decision. Reached only by a client that ignores pausing. */
const MAX_QUEUED_FRAMES = 256;

export class Signalling {
  private readonly queue: { data: Buffer; binary: boolean }[] = [];
  private queuedBytes = 0;
  private deciding = false;
  private refusals = 0;
  private readonly watch: ExpiryWatch;
  private readonly maxQueuedBytes: number;

  constructor(
    private readonly rt: Runtime,
    private readonly app: AppRuntime,
    private readonly clientIp: string,
    private readonly relay: Relay,
    private readonly events: SignallingEvents,
  ) {
    this.maxQueuedBytes = 4 * rt.config.ws.maxFrameBytes;
    this.watch = new ExpiryWatch({
      app: app.name,
      store: rt.store,
      // The replica's revocation cache (the store only before its first sync), pushed bumps at once.
      epochs: (a, s, u, role) => rt.sessions.current(a, s, u, role).then((v) => v.epochs),
      subscribe: (onBump) => rt.revocations.onBump(onBump),
      intervalMs: rt.config.ws.revocationCheckSeconds * 1000,
      log: rt.log,
      onEnd: (s, cause, definition) => this.endStream(s, cause, definition),
    });
  }

  /** Client → origin, every message. */
  onMessage(data: Buffer, binary: boolean): void {
    if (this.deciding || this.queue.length > 0) return this.enqueue(data, binary);
    this.process(data, binary);
  }

  close(): void {
    this.watch.close();
    this.queue.length = 0;
  }

  private enqueue(data: Buffer, binary: boolean): void {
    this.queue.push({ data, binary });
    this.queuedBytes += data.length;
    if (this.queue.length > MAX_QUEUED_FRAMES || this.queuedBytes > this.maxQueuedBytes) {
      this.queue.length = 0;
      this.queuedBytes = 0;
      this.relay.close('client', 1008, 'too many frames while authorizing');
    }
  }

  private process(data: Buffer, binary: boolean): void {
    const v = inspectFrame(data, this.watch.size > 0);
    // Commands are text frames (RFC 6455 §5.6): an origin that decodes a binary frame as text
    // would act on a command we never authorized, so a binary frame that holds one is refused.
    if (binary && v.kind !== 'pass') return this.refuse(v.kind === 'refuse' ? v.definition : definitionFor(Reason.tokenInvalid), v.kind === 'gate' ? v.streamId : undefined);
    if (binary) return this.relay.toOrigin(data, true);
    switch (v.kind) {
      case 'pass':
        return this.relay.toOrigin(data, false);
      case 'release':
        this.watch.release(v.command, v.id);
        return this.relay.toOrigin(data, false);
      case 'refuse':
        return this.refuse(v.definition, v.streamId);
      case 'gate':
        this.deciding = true;
        this.relay.holdClient(Hold.deciding);
        void this.authorize(v).finally(() => {
          this.deciding = false;
          this.drain();
        });
    }
  }

  private drain(): void {
    while (!this.deciding && this.queue.length > 0 && !this.relay.closed) {
      const next = this.queue.shift()!;
      this.queuedBytes -= next.data.length;
      this.process(next.data, next.binary);
    }
    if (!this.deciding) this.relay.releaseClient(Hold.deciding);
  }

  private async authorize(cmd: GatedCommand): Promise<void> {
    const { rt, app } = this;
    const subscriberId = cmd.credentials.subscriberId;
    // Read before deciding, from the same source the watch reads: a revocation racing the decision
    // is then seen by the next check instead of being missed.
    const epochs: Promise<Epochs | undefined> =
      cmd.stopFrame !== null ? rt.sessions.current(app.name, cmd.streamId, subscriberId, cmd.role).then((v) => v.epochs, () => undefined) : Promise.resolve(undefined);
    // The same authorize step as the HTTP doors; it never throws (500 internal_error / 503 store_unavailable).
    const { decision: d } = await authorize(rt, 'websocket', gatedTarget(app, cmd.role, 'signalling', [cmd.streamId]), {
      credentials: cmd.credentials,
      clientIp: this.clientIp,
      consume: true,
    });
    const baseline = await epochs;
    if (this.relay.closed) return;
    // A wrong subscriber code was counted against this address by the check itself.
    if (!d.allow) return this.refuse(definitionFor(d.reason), cmd.streamId, d.reason === Reason.subscriberCodeInvalid || d.reason === Reason.tooManyAttempts);
    this.relay.toOrigin(forwardedFrame(cmd, rt.config.ws.stripCredentials), false);
    if (cmd.stopFrame === null) return;
    const sid = d.subscriberId ?? subscriberId;
    const expires = rt.config.ws.enforceExpiry ? d.expiresAt : undefined;
    const revocable = d.via !== 'open' || sid !== undefined;
    if (expires === undefined && !revocable) return;
    const watched: WatchedStream = {
      key: `${cmd.command}:${cmd.streamId}`,
      command: cmd.command,
      streamId: cmd.streamId,
      role: cmd.role,
      subscriberId: sid,
      expiresAt: expires,
      epochs: baseline,
      revocable,
      stopFrame: cmd.stopFrame,
    };
    this.watch.add(watched);
  }

  private refuse(definition: DefinitionCode, streamId?: string, counted = false): void {
    this.events.refused(definition);
    this.relay.toClient(errorFrame(definition, streamId), false);
    if (++this.refusals >= this.rt.config.ws.maxRefusals) return this.closeForRefusals('too many refused commands');
    if (definition === Definition.tooManyAttempts) return this.closeForRefusals('too many attempts');
    // Refusals count against the client's address across sockets and replicas: reconnecting after
    // maxRefusals does not reset them. Past the limit the socket is closed and upgrades are refused.
    if (counted || !this.rt.attempts) return;
    const attempts = this.rt.attempts;
    void attempts.failure(this.clientIp).then(
      (locked) => {
        if (!locked || this.relay.closed) return;
        this.relay.toClient(errorFrame(Definition.tooManyAttempts, streamId), false);
        this.closeForRefusals('too many attempts');
      },
      (err: unknown) => this.rt.log.error({ err }, 'signalling attempt limiter failed'),
    );
  }

  private closeForRefusals(reason: string): void {
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.relay.close('client', 1008, reason);
  }

  private endStream(s: WatchedStream, cause: EndCause, definition: DefinitionCode): void {
    if (this.relay.closed) return;
    this.events.ended(cause);
    this.rt.log.info({ door: 'websocket', app: this.app.name, stream: s.streamId, role: s.role, subscriber: s.subscriberId, cause }, 'signalling stream ended');
    this.relay.toClient(errorFrame(definition, s.streamId), false);
    this.relay.toOrigin(s.stopFrame, false);
  }
}
