import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_SECRET_PARAMS, redactUrl, secretParamNames } from '../../src/observability/redact.js';
import { startTestGate, HASH_SECRET, JWT_SECRET } from '../helpers/gate.js';
import { startTestOrigin } from '../helpers/origin.js';
import { captureLogs, until } from '../helpers/logs.js';
import { hashToken } from '../../src/checks/hash-token.js';
import { mintStreamJwt } from '../../src/checks/mint-jwt.js';

describe('redactUrl', () => {
  const cases: [input: string, expected: string][] = [
    ['/LiveApp/streams/s1.m3u8', '/LiveApp/streams/s1.m3u8'],
    ['/LiveApp/streams/s1.m3u8?token=abc', '/LiveApp/streams/s1.m3u8?token=[REDACTED]'],
    ['/a?token=abc&subscriberId=u1&subscriberCode=123456', '/a?token=[REDACTED]&subscriberId=u1&subscriberCode=[REDACTED]'],
    ['/a?sg=grant.sig&x=1', '/a?sg=[REDACTED]&x=1'],
    ['/a?access_token=t&jwt=j', '/a?access_token=[REDACTED]&jwt=[REDACTED]'],
    ['/a?x=1&token=a&token=b', '/a?x=1&token=[REDACTED]&token=[REDACTED]'],
    // over-redaction is the safe error: any case, encoded names
    ['/a?Token=abc&TOKEN=def', '/a?Token=[REDACTED]&TOKEN=[REDACTED]'],
    ['/a?%74oken=abc', '/a?%74oken=[REDACTED]'],
    // values containing '=' are redacted whole
    ['/a?token=a=b=', '/a?token=[REDACTED]'],
    // no value: nothing to hide
    ['/a?token&token=', '/a?token&token='],
    // fragments are treated like a query
    ['/cb#access_token=xyz&state=1', '/cb#access_token=[REDACTED]&state=1'],
    ['/a?token=q#jwt=f', '/a?token=[REDACTED]#jwt=[REDACTED]'],
    // absolute URLs
    ['https://origin.example:5443/LiveApp/streams/s1.mp4?token=abc', 'https://origin.example:5443/LiveApp/streams/s1.mp4?token=[REDACTED]'],
    // malformed input never throws
    ['/a?token=%zz%', '/a?token=[REDACTED]'],
    ['/a?%zz=1&token=%', '/a?%zz=1&token=[REDACTED]'],
    ['?', '?'],
    ['', ''],
    ['/a?&&=&token=x', '/a?&&=&token=[REDACTED]'],
    ['/a\u0000?token=x', '/a\u0000?token=[REDACTED]'],
    ['/a?subscriberId=keep-me', '/a?subscriberId=keep-me'],
  ];
  for (const [input, expected] of cases) {
    it(JSON.stringify(input), () => assert.equal(redactUrl(input), expected));
  }

  it('redacts a configured grant parameter when given the names', () => {
    const names = secretParamNames('sg_grant');
    assert.equal(redactUrl('/a?sg_grant=g&token=t&x=1', names), '/a?sg_grant=[REDACTED]&token=[REDACTED]&x=1');
  });

  it('secretParamNames does not duplicate a default name', () => {
    assert.equal(secretParamNames('sg'), DEFAULT_SECRET_PARAMS);
    assert.equal(secretParamNames(''), DEFAULT_SECRET_PARAMS);
  });

  it('never throws on non-string input', () => {
    assert.equal(redactUrl(undefined as unknown as string), 'undefined');
    assert.equal(redactUrl(42 as unknown as string), '42');
  });

  it('handles lone surrogates and huge inputs', () => {
    assert.equal(redactUrl('/a?token=\ud800'), '/a?token=[REDACTED]');
    const long = '/a?' + 'x=1&'.repeat(50_000) + 'token=secret';
    assert.ok(redactUrl(long).endsWith('token=[REDACTED]'));
  });
});

describe('access log keeps credentials out', () => {
  it('a request carrying every kind of secret (query, fragment-like names, headers, grant) logs none of them', async () => {
    const origin = await startTestOrigin();
    origin.routes.set('/LiveApp/streams/stream1.m3u8', {
      headers: { 'content-type': 'application/vnd.apple.mpegurl' },
      body: '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:1\n#EXTINF:2.0,\nstream1000000001.ts\n',
    });
    const logs = captureLogs('debug');
    const gate = await startTestGate(
      { origin: { url: origin.url }, apps: { LiveApp: { play: { hash: { enabled: true, secret: HASH_SECRET }, jwt: { enabled: true, secret: JWT_SECRET } } } } },
      { log: logs.log },
    );
    try {
      const hash = hashToken('stream1', 'play', HASH_SECRET);
      const jwt = await mintStreamJwt(JWT_SECRET, { streamId: 'stream1', type: 'play', exp: Math.floor(Date.now() / 1000) + 60 });
      const secrets = [hash, jwt, jwt.split('.')[2]!, 'otp-654321', 'bearer-secret-value', 'cookie-secret-value', 'access-secret-value', 'jwt-param-secret'];
      // The manifest opens a playback session: its grant (query and cookie) must not be logged either.
      const manifest = await fetch(`${gate.url}/LiveApp/streams/stream1.m3u8?token=${hash}&subscriberCode=otp-654321&access_token=access-secret-value&jwt=jwt-param-secret`, {
        headers: { authorization: 'Bearer bearer-secret-value', cookie: 'session=cookie-secret-value' },
      });
      const body = await manifest.text();
      const grant = /[?&]sg=([^&\s"]+)/.exec(body)?.[1];
      assert.ok(grant, `no grant in the rewritten manifest:\n${body}`);
      secrets.push(grant);
      const cookie = manifest.headers.get('set-cookie');
      assert.ok(cookie, "no grant cookie");
      secrets.push(cookie.split(';', 1)[0]!.split('=').slice(1).join('='));
      await (await fetch(`${gate.url}/LiveApp/streams/stream1.m3u8?token=${jwt}`)).arrayBuffer();
      await (await fetch(`${gate.url}/verify`, { headers: { 'x-original-uri': `/LiveApp/streams/stream1.m3u8?token=${jwt}` } })).arrayBuffer();
      assert.ok(await until(() => logs.withMsg('request').length >= 3, 2000), 'three access lines expected');
      const text = logs.text();
      for (const secret of secrets) assert.ok(!text.includes(secret), `"${secret.slice(0, 12)}…" reached the log`);
      assert.ok(logs.withMsg('request').every((l) => l.path === null || !String(l.path).includes('?')));
    } finally {
      await gate.close();
      await origin.close();
    }
  });
});
