// The config file's JSON Schema, generated from the zod schema (schema.ts) so the two never drift.
// Editors (yaml-language-server), CI linters and the Helm chart's values.schema.json use it.
import { z } from 'zod';
import { BOOLEAN_SHORTHAND, configSchema } from './schema.js';

/**
 * JSON Schema (draft-07, the newest draft Helm's validator reads) describing the config file's
 * *input*: defaults are listed but nothing is required beyond what the schema requires, strict
 * objects forbid unknown keys, and `true`/`false` shorthands (`oneTimeToken: true`) are accepted.
 * Cross-field rules (validate.ts) and secret strength (guardrails.ts) are not expressible here:
 * `streamgate check-config` remains the full check.
 */
/** A string holding a `${…}` reference (validated after interpolation, at start). */
const INTERPOLATED = '\\$\\{[^}]+\\}';

export function configJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(configSchema, {
    target: 'draft-7',
    io: 'input',
    unrepresentable: 'any',
    override: (ctx) => {
      const js = ctx.jsonSchema as Record<string, unknown>;
      const replace = (make: (original: Record<string, unknown>) => Record<string, unknown>) => {
        const { default: dflt, ...original } = js;
        for (const k of Object.keys(js)) delete js[k];
        Object.assign(js, dflt !== undefined ? { default: dflt } : {}, make(original));
      };
      if (BOOLEAN_SHORTHAND.has(ctx.zodSchema)) replace((o) => ({ anyOf: [{ type: 'boolean' }, o] }));
      // `${VAR}` / `${file:…}` are resolved at start: a constrained string may hold a reference instead.
      else if (js.type === 'string' && ['minLength', 'pattern', 'format', 'enum'].some((k) => k in js) && ctx.path.at(-1) !== 'propertyNames') {
        replace((o) => ({ anyOf: [o, { type: 'string', pattern: INTERPOLATED }] }));
      }
    },
  }) as Record<string, unknown>;
  const { $schema, ...rest } = schema;
  return { $schema, title: 'streamgate configuration', ...rest };
}
