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
  if (!anchor || anchor.runs.length === 0 || row.runs.length === 0) return null;
  const perRep = row.runs
    .map((r) => {
      const a = anchor.runs.find((x) => x.rep === r.rep);
      return a ? r.rps / a.rps : null;
    })
    .filter((x) => x !== null);
  if (perRep.length) return median(perRep);
  return median(row.runs.map((r) => r.rps)) / median(anchor.runs.map((r) => r.rps));
}

export function summarize(rows) {
  const key = (r) => `${r.kind}/${r.id}`;
  const byKey = new Map(rows.map((r) => [key(r), r]));
  return rows.map((row) => {
    const runs = row.runs;
    const rps = runs.map((r) => r.rps);
    const vsNginx = ratio(row, byKey.get(`${row.kind}/${ANCHORS.nginx}`));
    const target = row.server.startsWith('gate') ? TARGETS[row.kind] : undefined;
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
      target,
      meetsTarget: target === undefined || vsNginx === null ? null : vsNginx >= target,
      proxyCpuUs: median(runs.map((r) => r.cpuUsPerReq.proxy)),
      originCpuUs: median(runs.map((r) => r.cpuUsPerReq.origin)),
      foreignCores: median(runs.map((r) => r.foreignCores)),
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
    '| config | n | req/s (median) | min-max | MB/s | p50 ms | p99 ms | vs (a) direct | vs (b) nginx proxy | target | proxy CPU µs/req | origin CPU µs/req | store calls/req | foreign load (cores) | errors |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|:---:|---:|---:|---:|---:|---|',
  ];
  const lines = rows.map((s) => {
    const target = s.target === undefined ? '' : `≥ ${s.target.toFixed(2)} ${s.meetsTarget === null ? '?' : s.meetsTarget ? '✓' : '✗'}`;
    const errors = s.failure ? `**FAILED: ${s.failure.replace(/\|/g, '\\|')}**` : s.errors ? `**${s.errors}**` : '0';
    return `| ${s.id} | ${s.n} | ${int(s.rps)} | ${s.rps === null ? '-' : `${int(s.rpsMin)}-${int(s.rpsMax)}`} | ${fix(s.mbps, 1)} | ${fix(s.p50ms, 2)} | ${fix(s.p99ms, 2)} | ${fix(s.vsDirect, 3)} | ${fix(s.vsNginx, 3)} | ${target} | ${fix(s.proxyCpuUs, 1)} | ${fix(s.originCpuUs, 1)} | ${s.storeCallsPerReq === null ? '' : fix(s.storeCallsPerReq, 3)} | ${fix(s.foreignCores, 2)} | ${errors} |`;
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
    'Ratios are medians of per-repetition ratios. CPU columns are process CPU time / requests; foreign load is CPU',
    'used by other processes during the runs (> 0.3 cores means the figures are disturbed). See bench/README.md.',
    '',
  ].join('\n');
}
