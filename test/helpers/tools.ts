// Optional Debian tools (oathtool, ffprobe, nginx, chromium, curl): a test that needs one runs when it
// is installed and otherwise is skipped with a message naming the tool and its package, never failed.
// Pass the result as node:test's `skip` option: `test('…', { skip: missingTool('oathtool') }, …)`.
import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

/** Debian package of each tool, for the skip message. */
const PACKAGE: Record<string, string> = {
  oathtool: 'oathtool',
  ffprobe: 'ffmpeg',
  ffmpeg: 'ffmpeg',
  nginx: 'nginx',
  chromium: 'chromium',
  curl: 'curl',
  'redis-server': 'redis-server',
};

/** Where nginx and friends live on Debian even when sbin is not on a user's PATH. */
const EXTRA_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Absolute path of an executable: `name` itself when absolute, else searched on PATH and the sbin dirs. */
export function findTool(name: string): string | null {
  if (isAbsolute(name)) return executable(name) ? name : null;
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...EXTRA_DIRS];
  for (const dir of dirs) {
    const file = join(dir, name);
    if (executable(file)) return file;
  }
  return null;
}

/** `false` when the tool is installed; otherwise the skip message node:test prints next to the test. */
export function missingTool(name: string, label = name): false | string {
  if (findTool(name) !== null) return false;
  return `${label} not installed (Debian package ${PACKAGE[label] ?? PACKAGE[name] ?? label})`;
}
