// Writes dist/build-info.json after `tsc`: the git commit the build came from, when known
// (STREAMGATE_GIT_COMMIT, e.g. a Docker build argument, else `git rev-parse HEAD`), so that
// `streamgate version` and the streamgate_build_info metric can name it.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';

function commit() {
  const fromEnv = process.env.STREAMGATE_GIT_COMMIT?.trim();
  if (fromEnv) return fromEnv;
  try {
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return dirty ? `${head}-dirty` : head;
  } catch {
    return null; // no git (e.g. a build context without .git): the commit stays unknown
  }
}

writeFileSync(new URL('../dist/build-info.json', import.meta.url), `${JSON.stringify({ commit: commit() })}\n`);
