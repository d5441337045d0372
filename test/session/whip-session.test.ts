// WHIP session grants and the Location they ride on (RFC 9725 §4.3 session URL; Ant Media's
// WhipEndpoint builds Location as the request URI + "/" + uuid on the origin's own host).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createGrantCodec } from '../../src/session/grant.js';
import { SESSION_SECRET } from '../helpers/gate.js';
import { ANY_RESOURCE, authorizeWhipGrant, issueWhipGrant, locationWithGrant, whipResourceOf } from '../../src/session/whip-session.js';

const codec = createGrantCodec([SESSION_SECRET]);
const config = { maxLifetimeSeconds: 3600, bindClientIp: false } as Parameters<typeof issueWhipGrant>[1];
const expect = { app: 'LiveApp', streamIds: ['cam1'] };
const ORIGIN = 'http://antmedia:5080';

describe('whipResourceOf', () => {
  it('an origin-absolute Location becomes a same-origin path', () => {
    const r = whipResourceOf(`${ORIGIN}/LiveApp/whip/cam1/0f1e2d3c`, '/LiveApp/whip/cam1', ORIGIN, expect, 2048);
    assert.deepEqual(r, { app: 'LiveApp', streamId: 'cam1', resourceId: '0f1e2d3c', path: '/LiveApp/whip/cam1/0f1e2d3c', rawQuery: '' });
  });
  it('relative references resolve against the request path', () => {
    assert.equal(whipResourceOf('cam1/abc', '/LiveApp/whip/cam1', ORIGIN, expect, 2048)?.resourceId, 'abc');
    assert.equal(whipResourceOf('/LiveApp/whip/cam1/abc?x=1', '/LiveApp/whip/cam1', ORIGIN, expect, 2048)?.rawQuery, 'x=1');
  });
  it('foreign hosts, other apps or streams, and non-session paths get no grant', () => {
    for (const loc of ['https://elsewhere.example/LiveApp/whip/cam1/abc', '/Other/whip/cam1/abc', '/LiveApp/whip/cam2/abc', '/LiveApp/whip/cam1', '/LiveApp/whip/cam1/a/b', '/LiveApp/whip/cam1/../cam2/abc', '/LiveApp/streams/cam1.m3u8']) {
      assert.equal(whipResourceOf(loc, '/LiveApp/whip/cam1', ORIGIN, expect, 2048), null, loc);
    }
  });
});

describe('WHIP session grants', () => {
  const resource = { app: 'LiveApp', streamId: 'cam1', resourceId: 'abc' };
  const now = Date.UTC(2026, 0, 1);
  const grant = issueWhipGrant(codec, config, resource, '192.0.2.1', now);

  it('open exactly their resource for the session lifetime', () => {
    assert.equal(authorizeWhipGrant(codec, config, grant, resource, '192.0.2.1', now + 3599_000).allow, true);
    assert.deepEqual(authorizeWhipGrant(codec, config, grant, resource, '192.0.2.1', now + 3600_000), { allow: false, status: 401, reason: 'grant_expired' });
    for (const other of [{ ...resource, resourceId: 'abd' }, { ...resource, streamId: 'cam2' }, { ...resource, app: 'Other' }]) {
      assert.deepEqual(authorizeWhipGrant(codec, config, grant, other, '192.0.2.1', now), { allow: false, status: 401, reason: 'grant_invalid' });
    }
  });
  it('minted before the resource exists (/verify), open every session URL of their stream only', () => {
    const any = issueWhipGrant(codec, config, { ...resource, resourceId: ANY_RESOURCE }, '192.0.2.1', now);
    assert.equal(authorizeWhipGrant(codec, config, any, resource, '192.0.2.1', now).allow, true);
    assert.equal(authorizeWhipGrant(codec, config, any, { ...resource, resourceId: 'zzz' }, '192.0.2.1', now).allow, true);
    assert.equal(authorizeWhipGrant(codec, config, any, { ...resource, streamId: 'cam2' }, '192.0.2.1', now).allow, false);
    // An origin cannot make the proxy mint one by naming a resource "*".
    assert.equal(whipResourceOf('/LiveApp/whip/cam1/*', '/LiveApp/whip/cam1', ORIGIN, expect, 2048), null);
  });

  it('are bound to the client address with session.bindClientIp', () => {
    const bound = { ...config, bindClientIp: true };
    const g = issueWhipGrant(codec, bound, resource, '192.0.2.1', now);
    assert.equal(authorizeWhipGrant(codec, bound, g, resource, '192.0.2.1', now).allow, true);
    assert.equal(authorizeWhipGrant(codec, bound, g, resource, '192.0.2.2', now).allow, false);
  });
  it('ride on the Location query after the origin\'s own parameters', () => {
    assert.equal(locationWithGrant('/LiveApp/whip/cam1/abc', '', 'sg', 'G'), '/LiveApp/whip/cam1/abc?sg=G');
    assert.equal(locationWithGrant('/LiveApp/whip/cam1/abc', 'x=1', 'sg', 'G'), '/LiveApp/whip/cam1/abc?x=1&sg=G');
  });
});
