// What an SRT caller's Stream ID asks for. Two forms are read:
//   Ant Media:       `{app}/{streamId},token=…[,subscriberId=…,subscriberCode=…]`   (publish)
//   access control:  `#!::r={app}/{streamId},m=publish,s=…`  (SRT Access Control guidelines: `r`
//                    resource, `m` mode — request (play, the default) | publish, `s` session id,
//                    a one-shot identifier, carried as the token; `t` type must be `stream`)
// In both forms `token`, `subscriberId` and `subscriberCode` keys are read as credentials.
import type { Credentials, Role } from '../decision/types.js';
import { isStreamId } from '../request/stream-path.js';

export interface StreamRequest {
  app: string;
  streamId: string;
  role: Role;
  credentials: Credentials;
}

/** Why a Stream ID cannot be served, with the access-control rejection code (SRT_REJX_*) to send. */
export interface StreamIdProblem {
  problem: string;
  code: 1400 | 1405 | 1415;
}

const APP = /^[A-Za-z0-9_-]+$/;
const CREDENTIAL_KEYS = new Set(['token', 'subscriberId', 'subscriberCode']);

function pairs(text: string): Map<string, string> | null {
  const out = new Map<string, string>();
  for (const part of text.split(',')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) return null;
    const key = part.slice(0, eq);
    if (out.has(key)) return null; // a repeated key could be read differently by the origin
    out.set(key, part.slice(eq + 1));
  }
  return out;
}

function resource(path: string): { app: string; streamId: string } | null {
  const slash = path.indexOf('/');
  if (slash <= 0 || path.indexOf('/', slash + 1) !== -1) return null;
  const app = path.slice(0, slash);
  const streamId = path.slice(slash + 1);
  if (!APP.test(app) || !isStreamId(streamId) || streamId === '.' || streamId === '..' || streamId.length > 256) return null;
  return { app, streamId };
}

/** Parses a caller's Stream ID into app, stream, role and credentials, or says why it cannot. */
export function parseStreamId(sid: string | undefined): StreamRequest | StreamIdProblem {
  if (!sid) return { problem: 'no Stream ID: use {app}/{streamId},token=…', code: 1400 };
  let map: Map<string, string> | null;
  let path: string | undefined;
  let role: Role = 'publish';
  if (sid.startsWith('#!::')) {
    map = pairs(sid.slice(4));
    if (!map) return { problem: 'malformed access-control Stream ID', code: 1400 };
    path = map.get('r');
    const mode = map.get('m') ?? 'request';
    if (mode === 'publish') role = 'publish';
    else if (mode === 'request') role = 'play';
    else return { problem: `mode ${mode} is not served`, code: 1405 };
    const type = map.get('t');
    if (type !== undefined && type !== 'stream') return { problem: `type ${type} is not served`, code: 1415 };
    if (map.has('s') && !map.has('token')) map.set('token', map.get('s')!);
  } else {
    const comma = sid.indexOf(',');
    path = comma === -1 ? sid : sid.slice(0, comma);
    map = pairs(comma === -1 ? '' : sid.slice(comma + 1));
    if (!map) return { problem: 'malformed Stream ID parameters', code: 1400 };
    const mode = map.get('m');
    if (mode === 'request') role = 'play';
    else if (mode !== undefined && mode !== 'publish') return { problem: `mode ${mode} is not served`, code: 1405 };
  }
  const r = path === undefined ? null : resource(path);
  if (!r) return { problem: 'the resource must be {app}/{streamId}', code: 1400 };
  const credentials: Credentials = {};
  for (const [k, v] of map) if (CREDENTIAL_KEYS.has(k) && v !== '') credentials[k as 'token' | 'subscriberId' | 'subscriberCode'] = v;
  return { ...r, role, credentials };
}
