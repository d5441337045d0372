// What is running: the package version (package.json), the Node.js version, and the git commit
// when the build recorded one (dist/build-info.json, written by scripts/build-info.mjs) or the
// environment names it (STREAMGATE_GIT_COMMIT). Read once; never throws.
import { readFileSync } from 'node:fs';

export interface BuildInfo {
  /** package.json `version`, e.g. "0.1.0"; "unknown" if the file cannot be read. */
  version: string;
  /** process.version without the leading "v", e.g. "24.18.0". */
  node: string;
  /** Full git commit hash (a "-dirty" suffix for uncommitted changes), or null when unknown. */
  commit: string | null;
}

function readJson(rel: string): Record<string, unknown> | null {
  try {
    return JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as Record<string, unknown>;
  } catch {
    return null;
  }
}

let cached: BuildInfo | null = null;

/** Same layout from src/observability/ (tsx) and dist/observability/ (compiled): package.json is two levels up. */
export function buildInfo(): BuildInfo {
  if (cached) return cached;
  const pkg = readJson('../../package.json');
  const built = readJson('../build-info.json');
  const envCommit = process.env.STREAMGATE_GIT_COMMIT?.trim();
  const commit = envCommit || (typeof built?.commit === 'string' ? built.commit : null);
  cached = { version: typeof pkg?.version === 'string' ? pkg.version : 'unknown', node: process.versions.node, commit };
  return cached;
}

/** Node.js release lines streamgate supports (package.json `engines`). */
export const SUPPORTED_NODE_MAJORS: readonly number[] = [24, 26];

/** True when this process runs on a supported Node.js line. */
export function nodeSupported(version: string = process.versions.node): boolean {
  return SUPPORTED_NODE_MAJORS.includes(Number(version.split('.', 1)[0]));
}
