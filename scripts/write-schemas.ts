// Regenerates the JSON Schemas derived from the config validator:
//   schema/config.schema.json                 what `streamgate config schema` prints
//   helm/streamgate/values.schema.json        the chart's values; `config` is the config schema
// Run: npm run schemas   (test/config/json-schema.test.ts and test/deploy/helm-chart.test.ts fail when stale)
import { writeFileSync } from 'node:fs';
import { configJsonSchema } from '../src/config/json-schema.js';
import { chartValuesSchema } from './values-schema.js';

const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;
writeFileSync('schema/config.schema.json', json(configJsonSchema()));
writeFileSync('helm/streamgate/values.schema.json', json(chartValuesSchema()));
console.log('wrote schema/config.schema.json, helm/streamgate/values.schema.json');
