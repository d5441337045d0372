// The layering of src/ (written once in .dependency-cruiser.cjs) holds: no module imports a layer
// above its own, leaves never see the Runtime, no value-import cycles, no module outside a layer.
// The second test proves the rules bite, on a throw-away tree with one upward import of each kind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cruise, type ICruiseResult, type IForbiddenRuleType } from 'dependency-cruiser';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const config = createRequire(import.meta.url)(join(root, '.dependency-cruiser.cjs')) as { forbidden: IForbiddenRuleType[]; options: Record<string, unknown> };

function violations(result: ICruiseResult): string[] {
  return result.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`);
}

test('src/ has no import against the layering', async () => {
  const previous = process.cwd();
  process.chdir(root);
  try {
    const { output } = await cruise(['src'], { ...config.options, ruleSet: { forbidden: config.forbidden }, validate: true } as never);
    const result = output as ICruiseResult;
    assert.ok(result.summary.totalCruised > 50, `cruised ${result.summary.totalCruised} modules`);
    assert.deepEqual(violations(result), []);
  } finally {
    process.chdir(previous);
  }
});

test('the rules refuse an upward import, a leaf that takes the Runtime, and a module outside every layer', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sg-layers-'));
  const put = (path: string, text: string) => {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  };
  put('src/authorize/authorize.ts', 'export const authorize = 1;\n');
  put('src/runtime.ts', 'export interface Runtime { x: number }\n');
  put('src/request/context.ts', "import { authorize } from '../authorize/authorize';\nimport type { Runtime } from '../runtime';\nexport const x = (r: Runtime) => authorize + r.x;\n");
  put('src/proxy/http-gate.ts', "import type { Runtime } from '../runtime';\nexport const y = (r: Runtime) => r.x;\n");
  put('src/nowhere/thing.ts', "import { x } from '../request/context';\nexport const z = x;\n");
  const previous = process.cwd();
  process.chdir(dir);
  try {
    const { tsConfig: _ignored, ...options } = config.options;
    const { output } = await cruise(['src'], { ...options, ruleSet: { forbidden: config.forbidden }, validate: true } as never);
    const found = violations(output as ICruiseResult).sort();
    assert.deepEqual(found, [
      'every-module-has-a-layer: src/nowhere/thing.ts → src/request/context.ts',
      'layer-leaves: src/request/context.ts → src/authorize/authorize.ts',
      'runtime-is-for-doors: src/request/context.ts → src/runtime.ts',
    ]);
  } finally {
    process.chdir(previous);
    rmSync(dir, { recursive: true, force: true });
  }
});
