// What the access log says about a response beyond its status: the decision's reason and the
// credential kind, app and stream. The access-log wrapper opens a note per public response; the
// doors' shared helpers (recordDecision, sendJson) fill it in. Responses without a note (admin
// listener, tests calling a door directly) are skipped at the cost of one WeakMap lookup.
import type { ServerResponse } from 'node:http';
import type { Decision } from '../decision/types.js';

export interface ResponseNote {
  /** Stable Reason code of the decision or refusal ('ok' for an allow). */
  reason?: string | undefined;
  /** Credential kind that allowed the request (jwt, hash, grant, …). */
  via?: string | undefined;
  app?: string | undefined;
  stream?: string | undefined;
}

const notes = new WeakMap<ServerResponse, ResponseNote>();

/** Starts the note for `res` (the access-log wrapper does this once per request). */
export function openNote(res: ServerResponse): ResponseNote {
  const note: ResponseNote = {};
  notes.set(res, note);
  return note;
}

/** Merges `fields` into the note of `res`, if it has one. Later writers win (a deny after an allow). */
export function noteResponse(res: ServerResponse | undefined, fields: ResponseNote): void {
  if (!res) return;
  const note = notes.get(res);
  if (note) Object.assign(note, fields);
}

/** Notes an authorization outcome: reason (`ok` for an allow), credential kind, app and stream. */
export function noteDecision(res: ServerResponse, decision: Decision, target: { app: string; streamId: string }): void {
  noteResponse(res, decision.allow ? { reason: 'ok', via: decision.via, app: target.app, stream: decision.streamId ?? target.streamId } : { reason: decision.reason, via: 'none', app: target.app, stream: target.streamId });
}
