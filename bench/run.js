// streamgate benchmark (npm run bench): nginx origin direct, nginx proxy_pass, a bare http-proxy and
// streamgate (hash / JWT / no auth) on playlists and segments, loopback only, interleaved reps.
// Environment: BENCH_SECONDS (10), BENCH_REPS (3), BENCH_WARMUP (2 s), BENCH_ONLY (regex on
// "kind/id", e.g. '^(playlist|segment)/[abc]_'), BENCH_PIN=0 (no taskset). See bench/README.md.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureMedia, makeWebRoot } from './media.js';
import { installExitHandlers, pinning, stopAll, stopping } from './procs.js';
import { gcMsPerS, markdown, summarize } from './report.js';
import { ANCHORS, gateConfig, hashToken, livePath, makeSecrets, MANIFEST_TTL_MS, originApps, SCENARIOS, streamJwt } from './scenarios.js';
import { LOOPBACK, startHttpProxy, startNginxOrigin, startNginxProxy, startStreamgate } from './servers.js';
import { assertLoopback, errorCount, runWrk, WRK } from './wrk.js';

const benchDir = fileURLToPath(new URL('.', import.meta.url));
const workDir = join(benchDir, '.work');
const logDir = join(workDir, 'logs');
const resultsDir = join(benchDir, 'results');

const num = (name, dflt) => {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got "${v}"`);
  return n;
};
const SECONDS = num('BENCH_SECONDS', 10);
const REPS = Math.round(num('BENCH_REPS', 3));
const WARMUP = num('BENCH_WARMUP', Math.min(2, SECONDS));
const ONLY = process.env.BENCH_ONLY ? new RegExp(process.env.BENCH_ONLY) : null;
/** Most 1 s warm-up probes a gate row gets while its CPU per request is still falling (JIT warm-up). */
const WARMUP_PROBES = Math.round(num('BENCH_WARMUP_PROBES', 12));
/** An anchor (nginx proxy_pass) run older than this is repeated before the next streamgate row of its kind. */
const ANCHOR_MAX_AGE_S = num('BENCH_ANCHOR_AGE', 30);

/** First line a tool prints about itself (nginx -v writes to stderr, wrk -v exits with 1). */
const version = (cmd, args) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error) return 'missing';
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n')[0] || 'unknown';
};

function requireTools() {
  const missing = ['wrk', 'nginx', ...(pinning ? ['taskset'] : [])].filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
  if (missing.length) throw new Error(`missing tools: ${missing.join(', ')} (Debian: apt-get install wrk nginx-light util-linux)`);
}

async function fetchBody(url) {
  assertLoopback(url);
  const r = await fetch(url);
  const body = Buffer.from(await r.arrayBuffer());
  return { status: r.status, body };
}

async function main() {
  const startLoad = loadavg().map((x) => x.toFixed(2)).join(' ');
  installExitHandlers();
  requireTools();
  const rows = SCENARIOS.filter((s) => !ONLY || ONLY.test(`${s.kind}/${s.id}`)).map((s) => ({ ...s, runs: [] }));
  if (rows.length === 0) throw new Error('BENCH_ONLY matches no row');
  mkdirSync(logDir, { recursive: true });

  const media = await ensureMedia(workDir);
  const secrets = makeSecrets();
  const webRoot = makeWebRoot(workDir, media.dir, originApps(secrets));
  const probePath = `/LiveApp/streams/${media.playlist}`;
  const needed = new Set(rows.map((r) => r.server));

  console.error('bench: starting servers…');
  const servers = {};
  servers.origin = await startNginxOrigin({ workDir, logDir, webRoot, probePath, countedPath: livePath(media) });
  const originPort = new URL(servers.origin.url).port;
  if (needed.has('nginxProxy')) servers.nginxProxy = await startNginxProxy({ workDir, logDir, originPort, probePath });
  if (needed.has('httpProxy')) servers.httpProxy = await startHttpProxy({ logDir, originUrl: servers.origin.url, probePath });
  const startFailures = {};
  // Two gate processes: the default one, and one with playback sessions off (issue 2's pure-auth rows).
  const gates = { gate: gateConfig(secrets), gatePlain: { ...gateConfig(secrets), session: { enabled: false } } };
  for (const [name, gate] of Object.entries(gates)) {
    if (!needed.has(name)) continue;
    try {
      const nodeArgs = (process.env.BENCH_GATE_NODE_ARGS ?? '').split(' ').filter(Boolean);
      const startedAt = Date.now();
      servers[name] = await startStreamgate({ workDir, logDir, originUrl: servers.origin.url, gate, name, nodeArgs, probePath: `/BenchOpen/streams/${media.playlist}` });
      servers[name].startedAt = startedAt;
    } catch (err) {
      startFailures[name] = `streamgate (${name}) did not start: ${err.message}`;
      console.error(`bench: ${startFailures[name]} (log: ${join(logDir, `${name}.log`)})`);
    }
  }

  const streamId = 'stream1';
  const ctx = {
    media: { ...media, streamId },
    token: { hash: hashToken(streamId, secrets.hash), jwt: await streamJwt(streamId, secrets.jwt) },
    /** A JWT of its own for viewer `i` (claim `jti`): distinct viewers present distinct credentials. */
    viewerJwt: (i) => streamJwt(streamId, secrets.jwt, { jti: `viewer-${i}` }),
    grantParam: 'sg',
    url: (server, app, file, query) => `${servers[server].url}/${app}/streams/${file}${query ? `?${query}` : ''}`,
    serverUrl: (server) => servers[server].url,
    fetchText: async (url) => {
      const { status, body } = await fetchBody(url);
      if (status !== 200) throw new Error(`GET ${url} → ${status}`);
      return body.toString('utf8');
    },
  };

  /**
   * The URL to load, checked with one GET (200 and the right body) — again before every run, since
   * some URLs hold short-lived grants. A row that fails is not measured any further.
   */
  async function prepare(row) {
    const target = await row.url(ctx);
    // A row may load many paths (one per viewer): wrk then takes them round robin from a file.
    const { url, paths } = typeof target === 'string' ? { url: target, paths: undefined } : target;
    assertLoopback(url);
    let pathsFile;
    if (paths) {
      pathsFile = join(workDir, `${row.kind}-${row.id}.paths`);
      writeFileSync(pathsFile, `${paths.join('\n')}\n`);
    }
    const { status, body } = await fetchBody(url);
    if (status !== 200) throw new Error(`GET answered ${status}: ${body.toString('utf8', 0, 200).trim()}`);
    const expected = row.kind === 'playlist' ? media.playlistBytes : media.segmentBytes;
    if (row.body === 'rewritten') {
      if (!body.toString('utf8').includes(`${ctx.grantParam}=`)) throw new Error('playlist is not rewritten with grants');
    } else if (body.length !== expected) throw new Error(`body is ${body.length} B, expected ${expected} B`);
    row.bodyBytes = body.length;
    return { url, pathsFile };
  }
  const fail = (row, why) => {
    row.failure = why;
    console.error(`bench: ROW FAILED ${row.kind}/${row.id}: ${why}`);
  };
  /** One wrk run of a row, or undefined when the row failed (now or before). */
  async function measure(row, seconds) {
    if (row.failure) return undefined;
    let target;
    try {
      target = await prepare(row);
    } catch (err) {
      return void fail(row, `preflight: ${err.message}`);
    }
    const admin = servers[row.server]?.adminUrl;
    const metricsBefore = admin ? await gateMetrics(admin) : null;
    const originBefore = row.countOrigin ? servers.origin.counted() : null;
    const r = await runWrk(target.url, { seconds, pids: pidsFor(row), pathsFile: target.pathsFile });
    if (admin) {
      const after = await gateMetrics(admin);
      r.storeCalls = after.storeCalls - metricsBefore.storeCalls;
      r.gc = gcDuring(metricsBefore, after, seconds);
    }
    if (row.countOrigin) r.originRequests = servers.origin.counted() - originBefore;
    // Headers add a few hundred bytes; less than the body per response means wrong answers were counted.
    if (errorCount(r.errors)) fail(row, `wrk reported errors ${JSON.stringify(r.errors)}`);
    else if (r.bytesPerResponse < row.bodyBytes) fail(row, `responses average ${Math.round(r.bytesPerResponse)} B, less than the ${row.bodyBytes} B body`);
    return r;
  }

  /**
   * streamgate_store_calls_total summed over the methods a request can call, from the gate's admin
   * listener. The playback-end tracking is left out: it runs on its own timers (one batched write a
   * second, a sweep, the connection events it produces) whatever the request rate, and the 1,000
   * sessions row k opens end during later rows.
   */
  const BACKGROUND_STORE_CALLS = new Set(['trackPlaybacks', 'claimEndedPlaybacks', 'addConnectionEvent']);
  /**
   * One scrape of the gate's /metrics: store calls (as above) and prom-client's
   * `nodejs_gc_duration_seconds` sum and count per GC kind (minor = scavenge, major = mark-compact,
   * incremental = marking steps), so each run can show the GC it met.
   */
  async function gateMetrics(adminUrl) {
    const { status, body } = await fetchBody(`${adminUrl}/metrics`);
    if (status !== 200) throw new Error(`GET ${adminUrl}/metrics → ${status}`);
    let storeCalls = 0;
    const gc = {};
    for (const line of body.toString('utf8').split('\n')) {
      const m = /^streamgate_store_calls_total\{method="([^"]+)"\} (\S+)$/.exec(line);
      if (m && !BACKGROUND_STORE_CALLS.has(m[1])) storeCalls += Number(m[2]);
      const g = /^nodejs_gc_duration_seconds_(sum|count)\{kind="([a-z]+)"\} (\S+)$/.exec(line);
      if (g) (gc[g[2]] ??= { sum: 0, count: 0 })[g[1]] = Number(g[3]);
    }
    return { storeCalls, gc };
  }
  /** GC during a run from two scrapes: ms per s of run and collections, per kind. */
  function gcDuring(before, after, seconds) {
    const out = {};
    for (const [kind, a] of Object.entries(after.gc)) {
      const b = before.gc[kind] ?? { sum: 0, count: 0 };
      out[kind] = { msPerS: ((a.sum - b.sum) * 1000) / seconds, count: a.count - b.count };
    }
    return out;
  }

  const pidsFor = (row) => ({ proxy: row.server === 'origin' ? undefined : servers[row.server]?.pid, origin: servers.origin.pid });
  for (const row of rows) if (startFailures[row.server]) fail(row, startFailures[row.server]);
  const live = () => rows.filter((r) => !r.failure);
  const total = live().length * (REPS * (SECONDS + 0.5) + WARMUP);
  console.error(`bench: ${live().length} rows × ${REPS} reps × ${SECONDS} s (+${WARMUP} s warm-up each) ≈ ${Math.ceil(total / 60)} min`);

  // Warm-up. A fresh Node process runs its first thousands of requests in V8's interpreter while the
  // optimizing compiler works on background threads pinned to the same (shared) core: the first
  // segments cost 2-4x the CPU of the steady state, for longer the busier the core is. Gate rows are
  // therefore warmed with 1 s probes until their CPU per request stops falling.
  for (const row of live()) {
    if (!row.server.startsWith('gate')) {
      await measure(row, WARMUP);
      continue;
    }
    let last = Infinity;
    for (let probe = 1; probe <= WARMUP_PROBES; probe++) {
      const r = await measure(row, 1);
      if (!r) break;
      const cpu = r.cpuUsPerReq.proxy ?? 0;
      row.warmupProbes = probe;
      if (probe >= Math.max(2, WARMUP) && cpu > 0.9 * last) break;
      last = Math.min(last, cpu);
    }
  }

  const anchorOf = (row) => rows.find((r) => r.kind === row.kind && r.id === ANCHORS.nginx && !r.failure);
  const record = async (row, rep) => {
    const tStart = Date.now();
    const r = await measure(row, SECONDS);
    if (!r) return;
    row.runs.push({ rep, tStart, t: Date.now(), ...r });
    console.error(
      `bench: rep ${rep}/${REPS} ${row.kind}/${row.id}: ${Math.round(r.rps)} req/s, p50 ${r.p50ms.toFixed(2)} ms, p99 ${r.p99ms.toFixed(2)} ms, proxy CPU ${Math.round(r.cpuUsPerReq.proxy ?? 0)} µs/req` +
        `${r.originRequests !== undefined ? `, origin requests ${r.originRequests}` : ''}` +
        `${r.gc ? `, GC ${gcMsPerS(r).toFixed(0)} ms/s (${r.gc.major?.count ?? 0} major)` : ''}` +
        `${r.foreignCores > 0.3 ? `, foreign load ${r.foreignCores.toFixed(2)} cores` : ''}`,
    );
    await sleep(300);
  };
  for (let rep = 1; rep <= REPS; rep++) {
    // Rotate the order each repetition so no row always runs first (or right after the heaviest one).
    const order = live();
    const k = (rep - 1) % Math.max(1, order.length);
    for (const row of [...order.slice(k), ...order.slice(0, k)]) {
      // Foreign load drifts within minutes: every streamgate row gets an nginx anchor run of its kind
      // at most ANCHOR_MAX_AGE_S old, and its ratio is taken against the anchor run nearest in time.
      const anchor = anchorOf(row);
      if (row.server.startsWith('gate') && anchor && anchor !== row) {
        const lastT = anchor.runs.at(-1)?.t ?? 0;
        if (Date.now() - lastT > ANCHOR_MAX_AGE_S * 1000) await record(anchor, rep);
      }
      await record(row, rep);
    }
  }

  const meta = {
    date: new Date().toISOString(),
    machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}`,
    node: process.version,
    nginx: version('nginx', ['-v']),
    wrkVersion: version('wrk', ['-v']).split(' [')[0],
    commit: version('git', ['-C', benchDir, 'describe', '--always', '--dirty']),
    loadavg: startLoad,
    loadavgEnd: loadavg().map((x) => x.toFixed(2)).join(' '),
    manifestTtlMs: MANIFEST_TTL_MS,
    seconds: SECONDS,
    reps: REPS,
    warmupSeconds: WARMUP,
    warmupProbes: Object.fromEntries(rows.filter((r) => r.warmupProbes).map((r) => [`${r.kind}/${r.id}`, r.warmupProbes])),
    anchorMaxAgeSeconds: ANCHOR_MAX_AGE_S,
    pinning,
    wrk: WRK,
    media: { playlist: media.playlist, segment: media.segment, playlistBytes: media.playlistBytes, segmentBytes: media.segmentBytes },
    loopback: LOOPBACK,
    // Wall-clock start of each gate process: with BENCH_GATE_NODE_ARGS=--trace-gc, the log's
    // "N ms:" stamps count from (about) here, so a GC line can be matched to the run (tStart..t).
    gateStartedAt: Object.fromEntries(Object.entries(servers).filter(([, s]) => s.startedAt).map(([n, s]) => [n, s.startedAt])),
  };
  const summary = summarize(rows);
  const md = markdown(summary, meta);
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(join(resultsDir, 'latest.md'), md);
  const raw = rows.map(({ url: _u, ...r }) => r);
  writeFileSync(join(resultsDir, 'latest.json'), JSON.stringify({ meta, summary, rows: raw }, null, 2) + '\n');
  console.log(md);
  console.error(`bench: written ${join(resultsDir, 'latest.md')} and latest.json`);

  await stopAll();
  const failed = rows.filter((r) => r.failure);
  if (failed.length) {
    console.error(`bench: ${failed.length} row(s) FAILED: ${failed.map((r) => `${r.kind}/${r.id}`).join(', ')}`);
    process.exitCode = 1;
  }
}

main().catch(async (err) => {
  if (stopping()) return; // interrupted: the signal handler is already cleaning up
  console.error(`bench: ${err.stack ?? err.message}`);
  await stopAll();
  process.exit(1);
});
