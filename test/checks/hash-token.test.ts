import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkHashToken, hashToken } from '../../src/checks/hash-token.js';
import type { RequestContext } from '../../src/decision/types.js';
import { testContext } from '../helpers/context.js';

const policy = { enabled: true, secret: ['secret'] };

const ctx = testContext;

test('hashToken is Ant Media compatible: lowercase hex sha256(streamId + type + secret)', () => {
  // Vectors computed with `printf '%s' stream1playsecret | sha256sum`.
  assert.equal(hashToken('stream1', 'play', 'secret'), '233e10ece077265fccae9207490faee00192690096b0a7d5a6211cfde327643e');
  assert.equal(hashToken('stream1', 'publish', 'secret'), 'd9ca58420ee6b06eac8eaabfc6acbd2b22de4210a30e7e40639cf5a5280c441e');
});

test('valid hash for the stream and role → ok without expiry', () => {
  const r = checkHashToken(hashToken('stream1', 'play', 'secret'), ctx(), policy);
  assert.deepEqual(r, { ok: true, streamId: 'stream1' });
});

test('a hash for another role is refused', () => {
  const r = checkHashToken(hashToken('stream1', 'publish', 'secret'), ctx(), policy);
  assert.deepEqual(r, { ok: false, status: 401, reason: 'token_invalid' });
  const pub = checkHashToken(hashToken('stream1', 'play', 'secret'), ctx({ role: 'publish' }), policy);
  assert.equal(pub.ok, false);
});

test('stream1 hash does not open stream10 (and vice versa)', () => {
  assert.equal(checkHashToken(hashToken('stream1', 'play', 'secret'), ctx({ streamId: 'stream10', streamIds: ['stream10'] }), policy).ok, false);
  assert.equal(checkHashToken(hashToken('stream10', 'play', 'secret'), ctx(), policy).ok, false);
});

test('ambiguous file name: a hash for any candidate stream passes', () => {
  const c = ctx({ streamId: 's_240p', streamIds: ['s_240p', 's'] });
  assert.equal(checkHashToken(hashToken('s', 'play', 'secret'), c, policy).ok, true);
  assert.equal(checkHashToken(hashToken('s_240p', 'play', 'secret'), c, policy).ok, true);
  assert.equal(checkHashToken(hashToken('s_480p', 'play', 'secret'), c, policy).ok, false);
});

test('wrong secret, wrong length, odd characters and uppercase are refused without throwing', () => {
  const good = hashToken('stream1', 'play', 'secret');
  assert.equal(checkHashToken(hashToken('stream1', 'play', 'other'), ctx(), policy).ok, false);
  assert.equal(checkHashToken(good.slice(0, 63), ctx(), policy).ok, false);
  assert.equal(checkHashToken(good + '0', ctx(), policy).ok, false);
  assert.equal(checkHashToken('', ctx(), policy).ok, false);
  // 64 UTF-16 units but more than 64 bytes: must not reach timingSafeEqual with unequal lengths.
  assert.equal(checkHashToken('é'.repeat(64), ctx(), policy).ok, false);
  assert.equal(checkHashToken(good.toUpperCase(), ctx(), policy).ok, false);
});

test('no secret configured → refused (an empty secret would make hashes public)', () => {
  const token = hashToken('stream1', 'play', '');
  assert.equal(checkHashToken(token, ctx(), { enabled: true }).ok, false);
  assert.equal(checkHashToken(token, ctx(), { enabled: true, secret: [''] }).ok, false);
});
