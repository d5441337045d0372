// The dialects /verify understands, as pure parsing: nginx, Traefik, ingress-nginx, Envoy ext_authz.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isVerifyTarget, originalRequest } from '../../src/verify/original-request.js';

describe('isVerifyTarget', () => {
  for (const [url, expected] of [
    ['/verify', true],
    ['/verify?role=publish', true],
    ['/verify/LiveApp/streams/s.m3u8?token=t', true],
    ['/verifyx', false],
    ['/LiveApp/verify', false],
    ['/%76erify', false],
  ] as const) {
    it(`${url} → ${expected}`, () => assert.equal(isVerifyTarget(url), expected));
  }
});

describe('originalRequest', () => {
  it('nginx: X-Original-URI and -Method, ?role= of the location', () => {
    assert.deepEqual(originalRequest('/verify?role=publish', 'GET', { 'x-original-uri': '/A/whip/s?token=t', 'x-original-method': 'post' }), {
      ok: true, uri: '/A/whip/s?token=t', method: 'POST', shape: 'headers', role: 'publish',
    });
  });
  it('ingress-nginx: a full X-Original-URL keeps only the request-target', () => {
    const r = originalRequest('/verify', 'GET', { 'x-original-url': 'https://cdn.example/A/streams/s.m3u8?token=t' });
    assert.deepEqual(r, { ok: true, uri: '/A/streams/s.m3u8?token=t', method: 'GET', shape: 'headers' });
  });
  it('header dialects: only GET/HEAD calls, a bad role, a missing URI, disagreeing dialects', () => {
    assert.deepEqual(originalRequest('/verify', 'POST', { 'x-original-uri': '/A/whip/s' }), { ok: false, why: 'method' });
    assert.deepEqual(originalRequest('/verify?role=admin', 'GET', { 'x-original-uri': '/A/whip/s' }), { ok: false, why: 'role' });
    assert.deepEqual(originalRequest('/verify', 'GET', {}), { ok: false, why: 'missing' });
    assert.deepEqual(originalRequest('/verify', 'GET', { 'x-original-uri': '/a', 'x-forwarded-uri': '/b' }), { ok: false, why: 'disagree' });
  });
  it('Envoy ext_authz: the suffix is the target, the call method is the method, ?role is the client\'s', () => {
    assert.deepEqual(originalRequest('/verify/A/chunked/s/1.m4s?token=t&role=play', 'PUT', { host: 'media.example', 'x-envoy-internal': 'true' }), {
      ok: true, uri: '/A/chunked/s/1.m4s?token=t&role=play', method: 'PUT', shape: 'ext_authz',
    });
  });
  it('Envoy ext_authz: a client header that disagrees with the path or method is refused; x-envoy-original-path is not read', () => {
    assert.deepEqual(originalRequest('/verify/A/streams/a.m3u8', 'GET', { 'x-original-uri': '/A/streams/b.m3u8' }), { ok: false, why: 'disagree' });
    assert.deepEqual(originalRequest('/verify/A/whip/s', 'POST', { 'x-forwarded-method': 'GET' }), { ok: false, why: 'disagree' });
    const r = originalRequest('/verify/A/streams/a.m3u8', 'GET', { 'x-envoy-original-path': '/A/streams/b.m3u8' });
    assert.equal(r.ok && r.uri, '/A/streams/a.m3u8');
  });
});
