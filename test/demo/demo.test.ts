// `streamgate demo` is the first thing a user runs: start it and run the curl lines it prints.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
import { missingTool } from '../helpers/tools.js';

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });

test('the demo starts and every printed curl line answers as its comment says', { skip: missingTool('curl') }, async () => {
  const [port, admin] = [await freePort(), await freePort()];
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'demo', '--port', String(port), '--admin-port', String(admin)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, STREAMGATE_LOG_LEVEL: 'warn' },
  });
  try {
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    for (let i = 0; i < 150 && !out.includes('Stop with Ctrl-C'); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(out.includes('Stop with Ctrl-C'), `demo did not start:\n${out}`);
    const curls = out.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('curl '));
    assert.ok(curls.length >= 8, out);
    const run = async (line: string) => {
      const cmd = line.replace(/\s+#.*$/, '').replace(/ \| head -5$/, '');
      const { stdout } = await promisify(execFile)('bash', ['-c', `${cmd} -o /dev/null -w '%{http_code}' 2>/dev/null || true`], { timeout: 15_000 });
      return Number(stdout.trim().slice(-3));
    };
    // Allowed lines (one-time, hash, JWT + Range, DASH, TOTP, /verify) and refused ones with the status in their comment.
    for (const line of curls) {
      const expected = /#\s*(\d{3})/.exec(line)?.[1];
      const status = await run(line);
      if (expected) assert.equal(status, Number(expected), line);
      else assert.ok(status === 200 || status === 206, `${status}: ${line}`);
    }
    // The one-time token was consumed by its first GET: the same client continues, another is refused.
    assert.equal(await run(curls[0]!), 200);
    assert.equal(await run(`${curls[0]!.replace(/\s+#.*$/, '')} --interface 127.0.0.2`), 401);
  } finally {
    child.kill('SIGTERM');
  }
});
