// `streamgate serve` sets V8's old-generation growth for relaying unless the operator chose one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { tuneHeap } from '../../src/cli/heap-tuning.js';

test("an operator's own --heap-growing-percent (command line or NODE_OPTIONS) is left alone", () => {
  assert.equal(tuneHeap(['--heap-growing-percent=50'], ''), false);
  assert.equal(tuneHeap(['--heap_growing_percent', '50'], ''), false);
  assert.equal(tuneHeap([], '--max-old-space-size=384 --heap-growing-percent=80'), false);
});

test('otherwise the growth is set, and a process that sets it still serves and collects normally', () => {
  // In a child: setting a V8 flag is process-wide, and it must not break allocation or GC.
  const code = `
    const { tuneHeap } = await import('./src/cli/heap-tuning.ts');
    const set = tuneHeap([], '--max-old-space-size=384');
    let keep = [];
    for (let i = 0; i < 2e6; i++) { keep.push({ i, s: 'x' + i }); if (keep.length > 1e5) keep = []; }
    globalThis.gc();
    console.log(JSON.stringify({ set, heapMB: Math.round(process.memoryUsage().heapUsed / 1048576) }));`;
  const r = spawnSync(process.execPath, ['--expose-gc', '--max-semi-space-size=32', '--import', 'tsx', '--input-type=module', '-e', code], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim()) as { set: boolean; heapMB: number };
  assert.equal(out.set, true);
  assert.ok(out.heapMB < 100, `live heap after a full GC: ${out.heapMB} MB`);
});
