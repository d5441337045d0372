// The origin stream registry against a real HTTP server: 200/404 answers, caching both ways,
// one request for concurrent lookups, fail-closed errors, and ids that would walk the REST path.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { createOriginRegistry } from '../../src/checks/origin-registry.js';
import { StoreUnavailableError } from '../../src/errors.js';

describe('origin stream registry', () => {
  let server: http.Server;
  let pool: Pool;
  const calls: string[] = [];
  let status: number | null = null; // forced status; null: 200 for ids starting with "known"
  let delayMs = 0;

  before(async () => {
    server = http.createServer((req, res) => {
      calls.push(req.url ?? '');
      const id = decodeURIComponent((req.url ?? '').split('/').at(-1) ?? '');
      setTimeout(() => res.writeHead(status ?? (id.startsWith('known') ? 200 : 404)).end('{}'), delayMs);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    pool = new Pool(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  });
  after(async () => {
    await pool.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  test('200 is registered, 404 is not; both are cached for registryCacheSeconds', async () => {
    const r = createOriginRegistry({ dispatcher: pool, cacheSeconds: 1, timeoutMs: 1000 });
    calls.length = 0;
    assert.equal(await r.exists('LiveApp', 'known1'), true);
    assert.equal(await r.exists('LiveApp', 'other'), false);
    assert.deepEqual(calls, ['/LiveApp/rest/v2/broadcasts/known1', '/LiveApp/rest/v2/broadcasts/other']);
    assert.equal(await r.exists('LiveApp', 'known1'), true);
    assert.equal(await r.exists('LiveApp', 'other'), false);
    assert.equal(calls.length, 2, 'answered from the cache');
    await sleep(1100);
    assert.equal(await r.exists('LiveApp', 'other'), false);
    assert.equal(calls.length, 3, 'asked again after the cache period');
  });

  test('concurrent lookups of one id share one request', async () => {
    const r = createOriginRegistry({ dispatcher: pool, cacheSeconds: 0, timeoutMs: 1000 });
    calls.length = 0;
    delayMs = 50;
    try {
      const answers = await Promise.all(Array.from({ length: 20 }, () => r.exists('LiveApp', 'known2')));
      assert.ok(answers.every(Boolean));
      assert.equal(calls.length, 1);
    } finally {
      delayMs = 0;
    }
  });

  test('any other answer, a timeout or an unreachable origin fails closed as StoreUnavailableError, and is not cached', async () => {
    const r = createOriginRegistry({ dispatcher: pool, cacheSeconds: 5, timeoutMs: 200 });
    status = 500;
    try {
      await assert.rejects(r.exists('LiveApp', 'known3'), StoreUnavailableError);
    } finally {
      status = null;
    }
    assert.equal(await r.exists('LiveApp', 'known3'), true, 'the error was not cached');
    delayMs = 500;
    try {
      await assert.rejects(r.exists('LiveApp', 'slow'), StoreUnavailableError);
    } finally {
      delayMs = 0;
    }
    const dead = new Pool('http://127.0.0.1:9');
    try {
      await assert.rejects(createOriginRegistry({ dispatcher: dead, cacheSeconds: 5, timeoutMs: 200 }).exists('LiveApp', 'x'), StoreUnavailableError);
    } finally {
      await dead.close();
    }
  });

  test('`.` and `..` are never registered and never sent to the origin; other ids are URL-encoded', async () => {
    const r = createOriginRegistry({ dispatcher: pool, cacheSeconds: 0, timeoutMs: 1000 });
    calls.length = 0;
    status = 200;
    try {
      assert.equal(await r.exists('LiveApp', '..'), false);
      assert.equal(await r.exists('LiveApp', '.'), false);
      assert.equal(calls.length, 0);
      assert.equal(await r.exists('LiveApp', 'a.b-c_d'), true);
      assert.deepEqual(calls, ['/LiveApp/rest/v2/broadcasts/a.b-c_d']);
    } finally {
      status = null;
    }
  });
});
