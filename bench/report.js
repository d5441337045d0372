// Turns the runs into the markdown table (medians over repetitions, ratios against the anchors) and
// the JSON with every raw run.
import { ANCHORS, TARGETS } from './scenarios.js';
import { errorCount } from './wrk.js';

const median = (xs) => {
  const s = xs.filter((x) => x !== null && x !== undefined && !Number.isNaN(x)).sort((a, b) => a - b);
  if (s.length === 0) return null;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const int = (x) => (x === null ? '-' : Math.round(x).toLocaleString('en-US'));
const fix = (x, d) => (x === null ? '-' : x.toFixed(d));

/**
 * Ratio against an anchor row: median of the per-repetition ratios (each rep's runs are minutes
 * apart at most, so drift in machine load cancels), else the ratio of the medians.
 */
function ratio(row, anchor) {
  const each = runRatios(row, anchor);
  return each === null ? null : median(each);
}

/** Each run's throughput over the anchor run nearest in time (run.js keeps one within BENCH_ANCHOR_AGE s). */
function runRatios(row, anchor) {
  if (!anchor || anchor.runs.length === 0 || row.runs.length === 0) return null;
  if (anchor === row) return row.runs.map(() => 1);
  const nearest = (r) => anchor.runs.reduce((best, a) => (Math.abs(a.t - r.t) < Math.abs(best.t - r.t) ? a : best));
  return row.runs.map((r) => r.rps / nearest(r).rps);
}

/**
 * Milliseconds of garbage collection per second of a run (all kinds: scavenges, mark-compact,
 * incremental marking steps), from the gate's `nodejs_gc_duration_seconds`; null without it.
 */
export function gcMsPerS(run) {
  if (!run.gc) return null;
  return Object.values(run.gc).reduce((n, k) => n + k.msPerS, 0);
}

/**
 * The same ratio from CPU cost instead of throughput: (anchor + origin CPU per request) / (row +
 * origin CPU per request), i.e. what the row would reach against the anchor on a core of its own.
 * Per-request CPU barely moves with foreign load, so this is the figure to compare across runs.
 */
function cpuRatio(row, anchor) {
  if (!anchor || anchor.runs.length === 0 || row.runs.length === 0) return null;
  const cost = (r) => (r.cpuUsPerReq.proxy ?? 0) + (r.cpuUsPerReq.origin ?? 0);
  const a = median(anchor.runs.map(cost));
  const b = median(row.runs.map(cost));
  return a && b ? a / b : null;
}

export function summarize(rows) {
  const key = (r) => `${r.kind}/${r.id}`;
  const byKey = new Map(rows.map((r) => [key(r), r]));
  return rows.map((row) => {
    const runs = row.runs;
    const rps = runs.map((r) => r.rps);
    const each = runRatios(row, byKey.get(`${row.kind}/${ANCHORS.nginx}`));
    const vsNginx = each === null ? null : median(each);
    // The targets hold for every run, not for the median: the worst run decides.
    const vsNginxWorst = each === null ? null : Math.min(...each);
    const target = row.server.startsWith('gate') && row.targeted !== false ? TARGETS[row.kind] : undefined;
    return {
      id: row.id,
      label: row.label,
      kind: row.kind,
      n: runs.length,
      rps: median(rps),
      rpsMin: rps.length ? Math.min(...rps) : null,
      rpsMax: rps.length ? Math.max(...rps) : null,
      mbps: median(runs.map((r) => r.mbps)),
      p50ms: median(runs.map((r) => r.p50ms)),
      p99ms: median(runs.map((r) => r.p99ms)),
      vsDirect: ratio(row, byKey.get(`${row.kind}/${ANCHORS.direct}`)),
      vsNginx,
      vsNginxWorst,
      vsNginxByCpu: cpuRatio(row, byKey.get(`${row.kind}/${ANCHORS.nginx}`)),
      target,
      meetsTarget: target === undefined || vsNginxWorst === null ? null : vsNginxWorst >= target,
      proxyCpuUs: median(runs.map((r) => r.cpuUsPerReq.proxy)),
      // Node servers only: CPU of threads other than the event loop (V8 compiler and GC helpers, libuv pool).
      proxyOtherThreadsUs: row.server.startsWith('gate') || row.server === 'httpProxy' ? median(runs.map((r) => r.cpuUsPerReq.proxyOtherThreads)) : null,
      originCpuUs: median(runs.map((r) => r.cpuUsPerReq.origin)),
      foreignCores: median(runs.map((r) => r.foreignCores)),
      gcMsPerS: median(runs.map(gcMsPerS)),
      gcMsPerSWorst: runs.some((r) => r.gc) ? Math.max(...runs.map((r) => gcMsPerS(r) ?? 0)) : null,
      majorGcs: runs.some((r) => r.gc) ? runs.reduce((n, r) => n + (r.gc?.major?.count ?? 0), 0) : null,
      storeCallsPerReq: median(runs.map((r) => (r.storeCalls === undefined ? null : r.storeCalls / Math.max(1, r.requests)))),
      originRequests: runs.some((r) => r.originRequests !== undefined) ? runs.map((r) => ({ rep: r.rep, requests: r.requests, originRequests: r.originRequests })) : null,
      errors: runs.reduce((n, r) => n + errorCount(r.errors), 0),
      failure: row.failure ?? null,
    };
  });
}

function table(kind, summary, meta) {
  const rows = summary.filter((s) => s.kind === kind);
  if (rows.length === 0) return '';
  const bytes = kind === 'playlist' ? meta.media.playlistBytes : meta.media.segmentBytes;
  const head = [
    `#### ${kind} (${bytes.toLocaleString('en-US')} B, ${meta.reps} interleaved reps × ${meta.seconds} s, wrk -t${meta.wrk.threads} -c${meta.wrk.connections}${meta.pinning ? ', pinned' : ', NOT pinned'})`,
    '',
    '| config | n | req/s (median) | min-max | MB/s | p50 ms | p99 ms | vs (a) direct | vs (b) nginx proxy | worst run | by CPU | target | proxy CPU µs/req (other threads) | origin CPU µs/req | GC ms/s (worst; major GCs) | store calls/req | foreign load (cores) | errors |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|---:|---:|---:|---:|---:|---|',
  ];
  const lines = rows.map((s) => {
    const target = s.target === undefined ? '' : `≥ ${s.target.toFixed(2)} ${s.meetsTarget === null ? '?' : s.meetsTarget ? '✓' : '✗'}`;
    const errors = s.failure ? `**FAILED: ${s.failure.replace(/\|/g, '\\|')}**` : s.errors ? `**${s.errors}**` : '0';
    return `| ${s.id} | ${s.n} | ${int(s.rps)} | ${s.rps === null ? '-' : `${int(s.rpsMin)}-${int(s.rpsMax)}`} | ${fix(s.mbps, 1)} | ${fix(s.p50ms, 2)} | ${fix(s.p99ms, 2)} | ${fix(s.vsDirect, 3)} | ${fix(s.vsNginx, 3)} | ${fix(s.vsNginxWorst, 3)} | ${fix(s.vsNginxByCpu, 3)} | ${target} | ${fix(s.proxyCpuUs, 1)}${s.proxyOtherThreadsUs ? ` (${fix(s.proxyOtherThreadsUs, 0)})` : ''} | ${fix(s.originCpuUs, 1)} | ${s.gcMsPerS === null ? '' : `${fix(s.gcMsPerS, 0)} (${fix(s.gcMsPerSWorst, 0)}; ${s.majorGcs})`} | ${s.storeCallsPerReq === null ? '' : fix(s.storeCallsPerReq, 3)} | ${fix(s.foreignCores, 2)} | ${errors} |`;
  });
  return [...head, ...lines, ''].join('\n');
}

/** Row k: how many requests for the live playlist reached the origin during each measured run. */
function originCounts(summary, meta) {
  const rows = summary.filter((s) => s.originRequests);
  if (rows.length === 0) return '';
  const bound = Math.ceil((meta.seconds * 1000) / meta.manifestTtlMs) + 1;
  const lines = rows.flatMap((s) =>
    s.originRequests.map(
      (o) =>
        `- \`${s.id}\` rep ${o.rep}: ${o.requests.toLocaleString('en-US')} viewer refreshes, **${o.originRequests} origin requests** in ${meta.seconds} s ` +
        `(bound at one per ${meta.manifestTtlMs} ms TTL: ${bound}) ${o.originRequests <= bound ? '✓' : '✗'}`,
    ),
  );
  return ['#### origin requests for the live playlist (counted in the origin\'s access log)', '', ...lines, ''].join('\n');
}

export function markdown(summary, meta) {
  const legend = [...new Map(summary.map((s) => [s.id, s.label])).entries()].map(([id, label]) => `- \`${id}\`: ${label}`).join('\n');
  return [
    `### streamgate bench — ${meta.date}`,
    '',
    `${meta.machine}; node ${meta.node}; ${meta.nginx}; ${meta.wrkVersion}; commit ${meta.commit}.`,
    `Servers on CPU ${meta.pinning ? '0' : 'any'}, wrk on CPU ${meta.pinning ? '1' : 'any'}; warm-up ${meta.warmupSeconds} s per row; load average (uptime) at start ${meta.loadavg}, at end ${meta.loadavgEnd}.`,
    '',
    table('playlist', summary, meta),
    table('segment', summary, meta),
    originCounts(summary, meta),
    legend,
    '',
    'Ratios are medians over runs, each against the nginx anchor run nearest in time; the target holds for the worst run; "by CPU" is the ratio of CPU',
    'cost per request (row + origin vs anchor + origin), which foreign load barely moves. CPU columns are process',
    'CPU time / requests; foreign load is CPU used by other processes during the runs (> 0.3 cores means the',
    'throughput figures are disturbed). See bench/README.md.',
    meta.warmupProbes && Object.keys(meta.warmupProbes).length ? `Warm-up probes (1 s) until CPU per request settled: ${Object.entries(meta.warmupProbes).map(([k, v]) => `${k} ${v}`).join(', ')}.` : '',
    '',
  ].join('\n');
}
