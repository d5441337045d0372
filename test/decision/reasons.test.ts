// The one reason table: the README's deny table is this table, the doors' statuses come from it,
// and every reason has a WebSocket definition.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Definition, REASONS, Reason, definitionFor, statusAt, type ReasonCode } from '../../src/decision/reasons.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

test("the README's deny table lists every reason with the table's status, definition and meaning", () => {
  const begin = readme.indexOf('<!-- reasons:begin -->');
  const end = readme.indexOf('<!-- reasons:end -->');
  assert.ok(begin > 0 && end > begin, 'README has the reasons markers');
  const rows = readme
    .slice(begin, end)
    .split('\n')
    .filter((l) => l.startsWith('| `'))
    .map((l) => l.slice(1, -1).split(' | ').map((c) => c.trim()));
  const fromReadme = rows.map(([code, status, definition, meaning]) => [code!.replaceAll('`', ''), Number(status), definition!.replaceAll('`', ''), meaning]);
  const fromTable = Object.entries(REASONS).map(([code, r]) => [code, r.status, r.definition, r.meaning]);
  assert.deepEqual(fromReadme, fromTable, `regenerate the README table:\n${fromTable.map(([c, s, d, m]) => `| \`${c}\` | ${s} | \`${d}\` | ${m} |`).join('\n')}`);
});

test('Reason names every code once, camelCase to snake_case', () => {
  assert.deepEqual(Object.values(Reason).sort(), Object.keys(REASONS).sort());
  assert.equal(Reason.tokenNotYetValid, 'token_not_yet_valid');
  assert.equal(Reason.internalError, 'internal_error');
});

test('/verify answers only 401, 403, 500 and 503; the proxy answers the table status', () => {
  for (const code of Object.keys(REASONS) as ReasonCode[]) {
    const proxy = statusAt('proxy', code);
    const verify = statusAt('verify', code);
    assert.equal(proxy, REASONS[code].status);
    assert.ok([401, 403, 500, 503].includes(verify), `${code}: /verify ${verify}`);
    if (proxy === 401 || proxy === 403 || proxy === 500 || proxy === 503) assert.equal(verify, proxy, code);
  }
  assert.equal(statusAt('verify', Reason.methodNotAllowed), 403);
  assert.equal(statusAt('verify', Reason.appNotFound), 403);
  assert.equal(statusAt('verify', Reason.pathInvalid), 403);
});

test("WebSocket definitions are Ant Media's where it has one", () => {
  assert.equal(definitionFor(Reason.subscriberBlocked), Definition.blocked);
  assert.equal(definitionFor(Reason.streamNotRegistered), Definition.unregistered);
  assert.equal(definitionFor(Reason.viewerLimit), Definition.viewerLimit);
  assert.equal(definitionFor(Reason.storeUnavailable), Definition.storeDown);
  assert.equal(definitionFor(Reason.streamUnrecognized), Definition.invalidStreamName);
  // A bad credential never says which check failed, as in the original.
  for (const r of [Reason.tokenInvalid, Reason.tokenExpired, Reason.tokenUsed, Reason.subscriberCodeInvalid, Reason.ipNotAllowed]) assert.equal(definitionFor(r), Definition.unauthorized, r);
  assert.equal(definitionFor(Reason.internalError), 'internal_error');
});
