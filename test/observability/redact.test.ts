import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_SECRET_PARAMS, redactUrl, secretParamNames } from '../../src/observability/redact.js';

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
