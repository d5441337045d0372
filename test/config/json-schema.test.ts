// The config's JSON Schema is generated from the validator: the committed copy must be current,
// and it must agree with the validator on real configs (accept the examples, reject typos).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { Ajv } from 'ajv';
import { configJsonSchema } from '../../src/config/json-schema.js';

const COMMITTED = 'schema/config.schema.json';

test('schema/config.schema.json is what `streamgate config schema` prints now', () => {
  const out = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'config', 'schema'], { encoding: 'utf8' });
  assert.equal(out.status, 0, out.stderr);
  assert.deepEqual(JSON.parse(out.stdout), configJsonSchema());
  assert.equal(readFileSync(COMMITTED, 'utf8'), out.stdout, `${COMMITTED} is stale: regenerate with \`node --import tsx src/cli/main.ts config schema > ${COMMITTED}\``);
});

test('the schema accepts the example configs and the shorthands, and rejects what the validator rejects', () => {
  const validate = new Ajv({ strict: false, allErrors: true }).compile(configJsonSchema());
  const example = parseYaml(readFileSync('config.example.yaml', 'utf8'));
  assert.ok(validate(example), JSON.stringify(validate.errors));
  const chartConfig = (parseYaml(readFileSync('helm/streamgate/values.yaml', 'utf8')) as { config: unknown }).config;
  assert.ok(validate(chartConfig), JSON.stringify(validate.errors));
  assert.ok(validate({ apps: { A: { play: { oneTimeToken: true, hash: false } } } }), JSON.stringify(validate.errors));
  for (const bad of [
    { listen: { port: 99999 } },
    { apps: { A: { play: { jwt: { enabled: true, secrte: 'x' } } } } },
    { apps: { 'bad name': {} } },
    { store: { type: 'postgres' } },
    { sesion: {} },
  ]) {
    assert.equal(validate(bad), false, JSON.stringify(bad));
  }
});
