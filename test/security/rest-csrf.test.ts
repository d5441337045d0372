// Defends against: cross-site request forgery on the management API. An IP allowlist alone lets any
// web page an operator visits drive the API from the operator's network position; `GET /{id}/token`
// triggered by an <img> or a link sends no Origin header, so the "browsers need a JWT" rule did not
// apply and a 7-day token was minted. Browsers send Fetch Metadata (`Sec-Fetch-Site`) on every
// request: cross-site (and by default same-site) requests must carry a valid API JWT.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT } from 'jose';
import { startTestGate, JWT_SECRET } from '../helpers/gate.js';
import { call } from '../helpers/http.js';
import type { RunningGate } from '../../src/server.js';

const exp = () => Math.floor(Date.now() / 1000) + 600;
const IMG = { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'image' };

describe('CSRF on the management API', () => {
  let gate: RunningGate;
  let api: (app: string) => string;
  let jwt: string;

  before(async () => {
    gate = await startTestGate({
      apps: {
        IpOnly: { play: { oneTimeToken: true } },
        WithJwt: { play: { oneTimeToken: true }, rest: { jwt: { secret: JWT_SECRET }, mode: 'either' } },
        SameSiteOk: { play: { oneTimeToken: true }, rest: { allowSameSite: true } },
      },
    });
    api = (app) => `${gate.adminUrl}/${app}/rest/v2/broadcasts`;
    jwt = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setExpirationTime(exp()).sign(new TextEncoder().encode(JWT_SECRET));
  });
  after(async () => {
    await gate.close();
  });

  test('an <img> (no Origin, Sec-Fetch-Site: cross-site) cannot mint a token from an allowed address', async () => {
    const r = await call('GET', `${api('IpOnly')}/s1/token?type=play&expireDate=${exp()}`, undefined, IMG);
    assert.equal(r.status, 403);
    assert.deepEqual(r.json(), { error: 'forbidden', reason: 'rest_cross_site_requires_jwt' });
    const list = await call('GET', `${api('IpOnly')}/s1/tokens/list/0/10`);
    assert.deepEqual(list.json(), [], 'nothing was minted');
    // The same request from a script on the operator's machine (no Fetch Metadata) still works.
    assert.equal((await call('GET', `${api('IpOnly')}/s1/token?type=play&expireDate=${exp()}`)).status, 200);
    // And a same-origin / user-typed request (Sec-Fetch-Site: same-origin / none) too.
    for (const site of ['same-origin', 'none']) {
      assert.equal((await call('GET', `${api('IpOnly')}/s1/token?type=play&expireDate=${exp()}`, undefined, { 'sec-fetch-site': site })).status, 200, site);
    }
  });

  test('state changes cross-site are refused too, and same-site unless allowed', async () => {
    const del = await call('DELETE', `${api('IpOnly')}/s1/tokens`, undefined, { 'sec-fetch-site': 'cross-site' });
    assert.equal(del.status, 403);
    const sub = await call('POST', `${api('IpOnly')}/s1/subscribers`, { subscriberId: 'x', type: 'play' }, { 'sec-fetch-site': 'same-site' });
    assert.equal(sub.status, 403);
    assert.equal((await call('GET', `${api('SameSiteOk')}/s1/token?type=play&expireDate=${exp()}`, undefined, { 'sec-fetch-site': 'same-site' })).status, 200);
    assert.equal((await call('GET', `${api('SameSiteOk')}/s1/token?type=play&expireDate=${exp()}`, undefined, IMG)).status, 403);
  });

  test('a valid API JWT is the way in for cross-site callers', async () => {
    const no = await call('GET', `${api('WithJwt')}/s1/token?type=play&expireDate=${exp()}`, undefined, IMG);
    assert.equal(no.status, 403);
    const bad = await call('GET', `${api('WithJwt')}/s1/token?type=play&expireDate=${exp()}`, undefined, { ...IMG, authorization: 'Bearer x.y.z' });
    assert.equal(bad.status, 403);
    const ok = await call('GET', `${api('WithJwt')}/s1/token?type=play&expireDate=${exp()}`, undefined, { ...IMG, authorization: `Bearer ${jwt}` });
    assert.equal(ok.status, 200);
  });
});
