// Signalling frame inspection: which frames are gated, with which role, id and credentials; what
// is refused before any decision; what is forwarded for an allowed command.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { definitionFor, errorFrame, forwardedFrame, inspectFrame, mayNeedInspection, type GatedCommand } from '../../src/ws/frames.js';
import { Reason } from '../../src/errors.js';

const inspect = (frame: string | Record<string, unknown>, releases = false) => inspectFrame(Buffer.from(typeof frame === 'string' ? frame : JSON.stringify(frame)), releases);
const gated = (frame: Record<string, unknown> | string) => {
  const v = inspect(frame);
  assert.equal(v.kind, 'gate', JSON.stringify(frame));
  return v as GatedCommand;
};

describe('signalling frames', () => {
  test('media-starting commands are gated with their role, id and credentials', () => {
    const p = gated({ command: 'publish', streamId: 's1', token: 't', subscriberId: 'u', subscriberCode: '123456', mainTrack: 'room1' });
    assert.deepEqual([p.role, p.streamId, p.credentials], ['publish', 's1', { token: 't', subscriberId: 'u', subscriberCode: '123456', roomId: 'room1' }]);
    assert.equal(p.stopFrame, '{"command":"stop","streamId":"s1"}');
    const pl = gated({ command: 'play', streamId: 's1', room: 'r', token: 't' });
    assert.deepEqual([pl.role, pl.credentials.roomId], ['play', 'r']);
    assert.equal(gated({ command: 'join', streamId: 'p', mode: 'play' }).role, 'play');
    assert.equal(gated({ command: 'join', streamId: 'p', mode: 'both' }).role, 'publish');
    assert.equal(gated({ command: 'join', streamId: 'p' }).stopFrame, '{"command":"leave","streamId":"p"}');
    const jr = gated({ command: 'joinRoom', room: 'r1', streamId: 'me', mode: 'mcu' });
    assert.deepEqual([jr.role, jr.streamId, jr.credentials.roomId, jr.stopFrame], ['publish', 'r1', 'r1', '{"command":"leaveFromRoom","room":"r1"}']);
    assert.equal(gated({ command: 'joinRoom', room: 'r1', role: 'listener' }).role, 'play');
    const tl = gated({ command: 'getTrackList', streamId: 'r1', token: 't' });
    assert.deepEqual([tl.role, tl.stopFrame], ['play', null]);
    // JSON escapes decode to the same command, and non-string credentials count as absent.
    assert.equal(gated('{"command":"pub\\u006cish","streamId":"s1","token":5}').credentials.token, undefined);
  });

  test('validation order of the original: missing id, then the id alphabet', () => {
    assert.deepEqual(inspect({ command: 'play' }), { kind: 'refuse', definition: 'noStreamNameSpecified' });
    assert.deepEqual(inspect({ command: 'play', streamId: '' }), { kind: 'refuse', definition: 'noStreamNameSpecified' });
    assert.deepEqual(inspect({ command: 'play', streamId: 42 }), { kind: 'refuse', definition: 'noStreamNameSpecified' });
    assert.deepEqual(inspect({ command: 'publish', streamId: 'a b' }), { kind: 'refuse', definition: 'invalidStreamName', streamId: 'a b' });
    assert.deepEqual(inspect({ command: 'joinRoom' }), { kind: 'refuse', definition: 'no_room_specified' });
  });

  test('everything else passes: other commands, non-objects, malformed JSON that cannot name a gated command', () => {
    for (const f of ['{"command":"takeCandidate","streamId":"s1","candidate":"x"}', '{"command":"ping"}', '[1]', '"play"', 'null', '{oops', '', '{"command":["play"],"streamId":"s"}', '{"command":"PLAY","streamId":"s"}']) {
      assert.equal(inspect(f).kind, 'pass', f);
    }
  });

  test('malformed JSON that could name a gated command is refused (lenient origin parsers)', () => {
    for (const f of ['{"command":"play","streamId":"s1",}', "{'command':'publish','streamId':'s1'}", '{"command":"x\\', '{"command":"getTrackList" "streamId":"s"}']) {
      assert.deepEqual(inspect(f), { kind: 'refuse', definition: 'unauthorized_access' }, f);
    }
  });

  test('the pre-filter is exact: without a backslash, no gated word means no gated command', () => {
    assert.equal(mayNeedInspection(Buffer.from('{"command":"takeCandidate","candidate":"a=candidate"}'), false), false);
    assert.equal(mayNeedInspection(Buffer.from('{"command":"stop","streamId":"s"}'), false), false);
    assert.equal(mayNeedInspection(Buffer.from('{"command":"stop","streamId":"s"}'), true), true);
    assert.equal(mayNeedInspection(Buffer.from('{"a":"\\n"}'), false), true);
    assert.equal(mayNeedInspection(Buffer.from('display'), false), true);
  });

  test('releases: stop, leave and leaveFromRoom are recognized only when a stream is watched', () => {
    assert.deepEqual(inspect({ command: 'stop', streamId: 's1' }, true), { kind: 'release', command: 'stop', id: 's1' });
    assert.deepEqual(inspect({ command: 'leaveFromRoom', room: 'r1' }, true), { kind: 'release', command: 'leaveFromRoom', id: 'r1' });
    assert.equal(inspect({ command: 'stop', streamId: 's1' }, false).kind, 'pass');
  });

  test('the forwarded frame is re-serialized from what was authorized; secrets stripped on request', () => {
    const cmd = gated('{"command":"play","streamId":"b","token":"t","subscriberId":"u","subscriberCode":"1"}');
    assert.equal(forwardedFrame(cmd, true), '{"command":"play","streamId":"b","subscriberId":"u"}');
    assert.equal(forwardedFrame(cmd, false), '{"command":"play","streamId":"b","token":"t","subscriberId":"u","subscriberCode":"1"}');
  });

  test('error frames and definitions are the original ones', () => {
    assert.equal(errorFrame('unauthorized_access', 's1'), '{"command":"error","definition":"unauthorized_access","streamId":"s1"}');
    assert.equal(errorFrame('noStreamNameSpecified'), '{"command":"error","definition":"noStreamNameSpecified"}');
    assert.equal(definitionFor(Reason.subscriberBlocked), 'user_blocked');
    assert.equal(definitionFor(Reason.streamNotRegistered), 'not_allowed_unregistered_streams');
    assert.equal(definitionFor(Reason.viewerLimit), 'viewerLimitReached');
    assert.equal(definitionFor(Reason.storeUnavailable), 'data_store_not_available');
    for (const r of [Reason.ipNotAllowed, Reason.tokenExpired, Reason.tokenUsed, Reason.subscriberCodeInvalid, Reason.tokenMissing]) {
      assert.equal(definitionFor(r), 'unauthorized_access', r);
    }
  });
});
