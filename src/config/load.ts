// Loading: YAML → `${ENV}` / `${file:…}` interpolation → STREAMGATE_* overrides → schema → cross-field
// rules. Every problem is collected with its key path; a bad config never starts a server.
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import { ConfigError, type ConfigIssue } from '../errors.js';
import { configSchema, type Config } from './schema.js';
import { crossFieldIssues } from './validate.js';
import { replicaIssues, weakSecretIssues } from './guardrails.js';
import { locateKey } from './source-position.js';

const PLACEHOLDER = /\$\{([^}]*)\}/g;

/** Replaces `${VAR}`, `${VAR:-default}` and `${file:/path}` in every string of the tree. `$${` escapes. */
export function interpolate(node: unknown, env: NodeJS.ProcessEnv, issues: ConfigIssue[], path = ''): unknown {
  if (typeof node === 'string') {
    const escaped = node.split('$${');
    return escaped
      .map((part) =>
        part.replace(PLACEHOLDER, (_m, expr: string) => {
          if (expr.startsWith('file:')) {
            const file = expr.slice(5);
            try {
              return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
            } catch (err) {
              issues.push({ path, message: `cannot read secret file ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}` });
              return '';
            }
          }
          const [name = '', fallback] = expr.split(':-', 2) as [string, string | undefined];
          if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
            issues.push({ path, message: `invalid placeholder \${${expr}}` });
            return '';
          }
          const value = env[name];
          if (value !== undefined && value !== '') return value;
          if (fallback !== undefined) return fallback;
          issues.push({ path, message: `environment variable ${name} is not set` });
          return '';
        }),
      )
      .join('${');
  }
  if (Array.isArray(node)) return node.map((v, i) => interpolate(v, env, issues, `${path}[${i}]`));
  if (node && typeof node === 'object') {
    return Object.fromEntries(
      Object.entries(node).map(([k, v]) => [k, interpolate(v, env, issues, path ? `${path}.${k}` : k)]),
    );
  }
  return node;
}

type Tree = Record<string, unknown>;
const child = (t: Tree, key: string): Tree => {
  const v = t[key];
  if (v && typeof v === 'object' && !Array.isArray(v)) return v as Tree;
  const created: Tree = {};
  t[key] = created;
  return created;
};

/** STREAMGATE_* environment overrides for the scalars ops teams change per deployment. */
export function applyEnvOverrides(tree: Tree, env: NodeJS.ProcessEnv, issues: ConfigIssue[]): void {
  const int = (name: string, set: (n: number) => void) => {
    const raw = env[name];
    if (raw === undefined || raw === '') return;
    const n = Number(raw);
    if (!Number.isInteger(n)) issues.push({ path: name, message: `must be an integer, got "${raw}"` });
    else set(n);
  };
  const str = (name: string, set: (s: string) => void) => {
    const raw = env[name];
    if (raw !== undefined && raw !== '') set(raw);
  };
  str('STREAMGATE_LISTEN_HOST', (s) => (child(tree, 'listen').host = s));
  int('STREAMGATE_LISTEN_PORT', (n) => (child(tree, 'listen').port = n));
  str('STREAMGATE_ADMIN_HOST', (s) => (child(tree, 'admin').host = s));
  int('STREAMGATE_ADMIN_PORT', (n) => (child(tree, 'admin').port = n));
  str('STREAMGATE_ORIGIN_URL', (s) => (child(tree, 'origin').url = s));
  str('STREAMGATE_LOG_LEVEL', (s) => (child(tree, 'log').level = s));
  str('STREAMGATE_REDIS_URL', (s) => {
    const store = child(tree, 'store');
    store.type = 'redis';
    child(store, 'redis').url = s;
  });
  str('STREAMGATE_SESSION_SECRETS', (s) => (child(tree, 'session').secrets = s.split(',').map((x) => x.trim()).filter(Boolean)));
}

export interface ParseOptions {
  /** File name shown in issue positions (`config.yaml:12:7: apps.LiveApp…`). */
  source?: string;
  /** Skip the weak/placeholder secret guardrail. Only `streamgate demo`, which generates its secrets. */
  allowWeakSecrets?: boolean;
  /** Replicas the config will run with; defaults to STREAMGATE_REPLICAS (the Helm chart sets it). */
  replicas?: number;
}

/**
 * Parses and validates a config from YAML (or JSON) text. Throws ConfigError listing every issue,
 * each with its key path and, when the key is in the text, its line and column.
 */
export function parseConfig(text: string, env: NodeJS.ProcessEnv = process.env, opts: ParseOptions = {}): Config {
  const issues: ConfigIssue[] = [];
  const lines = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true, lineCounter: lines });
  const source = opts.source ?? '(config)';
  const located = (list: ConfigIssue[], keyOf: (i: ConfigIssue) => string = (i) => i.path) =>
    list.map((i) => {
      const at = i.line ? undefined : locateKey(doc, lines, keyOf(i));
      return at ? { ...i, file: source, line: at.line, column: at.column } : i;
    });
  for (const e of doc.errors) {
    const at = e.linePos?.[0];
    issues.push({ path: '(yaml)', message: e.message.split('\n')[0] ?? e.message, ...(at ? { file: source, line: at.line, column: at.col } : {}) });
  }
  if (issues.length) throw new ConfigError(issues);
  const raw = doc.toJS() ?? {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError([{ path: '', message: 'the config must be a YAML mapping' }]);
  const tree = interpolate(raw, env, issues) as Tree;
  applyEnvOverrides(tree, env, issues);
  const parsed = configSchema.safeParse(tree);
  if (!parsed.success) {
    const unknownKey = new Map<ConfigIssue, string>();
    for (const i of parsed.error.issues) {
      const issue = { path: formatPath(i.path), message: i.message };
      if (i.code === 'unrecognized_keys' && i.keys[0] !== undefined) unknownKey.set(issue, `${issue.path}.${i.keys[0]}`);
      issues.push(issue);
    }
    throw new ConfigError(located(issues, (i) => unknownKey.get(i) ?? i.path));
  }
  if (issues.length) throw new ConfigError(located(issues));
  const config = parsed.data as Config;
  issues.push(...crossFieldIssues(config));
  // One message per key: a secret the cross-field rules already refuse (JWT < 32 bytes) is not repeated.
  const named = new Set(issues.map((i) => i.path));
  if (!opts.allowWeakSecrets) issues.push(...weakSecretIssues(config).filter((i) => !named.has(i.path)));
  issues.push(...replicaIssues(config, opts.replicas ?? replicasFromEnv(env, issues)));
  if (issues.length) throw new ConfigError(located(issues));
  return config;
}

function replicasFromEnv(env: NodeJS.ProcessEnv, issues: ConfigIssue[]): number | undefined {
  const raw = env.STREAMGATE_REPLICAS;
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (Number.isInteger(n) && n >= 0) return n;
  issues.push({ path: 'STREAMGATE_REPLICAS', message: `must be a non-negative integer, got "${raw}"` });
  return undefined;
}

export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env, opts: Omit<ParseOptions, 'source'> = {}): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([{ path: '(file)', message: `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}` }]);
  }
  return parseConfig(text, env, { ...opts, source: file });
}

function formatPath(path: PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('');
}
