// The npm package as a user gets it: `npm pack` (its prepack step builds dist/), the tarball holds
// what `files` lists and nothing from the tests, and after `npm install <tarball>` in an empty
// folder `npx streamgate --help` and `npx streamgate version` work. Dependencies come from the
// local npm cache when it has them (--prefer-offline), so the test does not need the network
// once `npm ci` has run.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string; name: string };

describe('npm package', () => {
  const work = mkdtempSync(join(tmpdir(), 'sg-pack-'));
  const app = join(work, 'app');
  let tarball = '';
  let files: string[] = [];
  before(() => {
    const out = execFileSync('npm', ['pack', '--json', '--pack-destination', work], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 });
    // prepack's own output may precede the JSON report.
    const report = JSON.parse(out.slice(out.indexOf('[\n'))) as { filename: string; files: { path: string }[] }[];
    tarball = join(work, report[0]!.filename);
    files = report[0]!.files.map((f) => f.path);
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  test('the tarball ships the compiled CLI, the launcher, the example config, the config JSON Schema, README and LICENSE — not the tests or TypeScript sources', () => {
    for (const f of ['dist/cli/main.js', 'dist/server.js', 'dist/build-info.json', 'bin/streamgate.js', 'config.example.yaml', 'schema/config.schema.json', 'README.md', 'LICENSE', 'package.json']) {
      assert.ok(files.includes(f), `${f} missing from the package`);
    }
    assert.ok(files.some((f) => f.startsWith('src/demo/media/')), '`streamgate demo` needs its sample media');
    // prepack builds from a clean dist/: every compiled file has its source (no leftovers of renamed modules).
    const orphans = files.filter((f) => f.startsWith('dist/') && f.endsWith('.js') && !existsSync(f.replace(/^dist\//, 'src/').replace(/\.js$/, '.ts')));
    assert.deepEqual(orphans, []);
    const stray = files.filter((f) => f.startsWith('test/') || f.startsWith('bench/') || f.startsWith('deploy/') || f.endsWith('.map') || (f.startsWith('src/') && f.endsWith('.ts')));
    assert.deepEqual(stray, []);
  });

  test('installed from the tarball into an empty folder, `npx streamgate --help` and `npx streamgate version` work', () => {
    const install = spawnSync('npm', ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund', '--prefix', app], { encoding: 'utf8', timeout: 300_000 });
    assert.equal(install.status, 0, install.stdout + install.stderr);

    const help = spawnSync('npx', ['--no-install', 'streamgate', '--help'], { cwd: app, encoding: 'utf8', timeout: 60_000 });
    assert.equal(help.status, 0, help.stdout + help.stderr);
    assert.match(help.stdout, /^usage: streamgate <command>/);
    assert.match(help.stdout, /\n {2}version /);

    const version = spawnSync('npx', ['--no-install', 'streamgate', 'version', '--json'], { cwd: app, encoding: 'utf8', timeout: 60_000 });
    assert.equal(version.status, 0, version.stdout + version.stderr);
    const info = JSON.parse(version.stdout) as { version: string; node: string; commit: string | null };
    assert.equal(info.version, pkg.version);
    assert.equal(info.node, process.versions.node);
    // Packed from a git checkout: the build recorded the commit.
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
    assert.ok(info.commit?.startsWith(head), `commit ${String(info.commit)} is not HEAD ${head}`);

    const text = spawnSync('npx', ['--no-install', 'streamgate', 'version'], { cwd: app, encoding: 'utf8', timeout: 60_000 });
    assert.match(text.stdout, new RegExp(`^streamgate ${pkg.version.replaceAll('.', '\\.')}\nnode ${process.versions.node}`));
  });
});
