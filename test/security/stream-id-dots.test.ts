// Defends against: stream ids that are path steps. `.` and `..` were accepted by `POST /create`
// (and the other endpoints taking a stream id), so a registry entry, a token or a subscriber could
// name a "stream" that, joined into an origin file path, is a directory or its parent.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestGate } from '../helpers/gate.js';
import { call } from '../helpers/http.js';
import { isStreamId } from '../../src/request/stream-path.js';
import type { RunningGate } from '../../src/server.js';

describe('stream ids . and .. in the management API', () => {
  let gate: RunningGate;
  let api: string;
  before(async () => {
    gate = await startTestGate({ apps: { LiveApp: { play: { oneTimeToken: true } } } });
    api = `${gate.adminUrl}/LiveApp/rest/v2/broadcasts`;
  });
  after(async () => {
    await gate.close();
  });

  test('the id grammar refuses all-dot ids, and only those', () => {
    for (const id of ['.', '..', '...']) assert.equal(isStreamId(id), false, id);
    for (const id of ['a.b', '.hidden', 'x..y', 's1']) assert.equal(isStreamId(id), true, id);
  });

  test('POST /create, tokens and subscribers refuse them', async () => {
    for (const id of ['.', '..']) {
      const created = await call('POST', `${api}/create`, { streamId: id });
      assert.equal(created.status, 400, `create ${id}`);
      assert.equal(created.json().message, 'Stream id is not valid.');
      const exp = Math.floor(Date.now() / 1000) + 60;
      // Percent-encoded so the URL parser does not fold them into the path.
      const enc = id.replace(/\./g, '%2E');
      for (const [method, path, body] of [
        ['GET', `/${enc}/token?type=play&expireDate=${exp}`, undefined],
        ['POST', `/${enc}/subscribers`, { subscriberId: 'u', type: 'play' }],
        ['GET', `/${enc}/tokens/list/0/10`, undefined],
      ] as const) {
        const r = await call(method, `${api}${path}`, body);
        assert.ok(r.status === 400 || r.status === 404, `${method} ${path}: ${r.status}`);
        assert.notEqual(r.status, 200);
      }
    }
    assert.equal((await call('GET', `${api}/./token?type=play&expireDate=${Math.floor(Date.now() / 1000) + 60}`)).status !== 200, true);
  });
});
