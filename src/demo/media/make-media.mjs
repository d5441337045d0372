#!/usr/bin/env node
// Regenerates the committed demo media (run by hand, never at run time: the demo must work without
// ffmpeg). `node src/demo/media/make-media.mjs` → one folder per stream plus index.json, which
// sample-media.ts reads. Tiny on purpose (whole folder well under 1 MB): 8 s of test pattern per
// stream, cut into 4 × 2 s segments that the sample origin cycles to fake an endless live stream.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const SECONDS = 8;
const SEGMENT = 2;
const FPS = 10;
// Constant 2 s GOPs so every segment starts with a keyframe and lasts exactly 2 s.
const X264 = ['-c:v', 'libx264', '-profile:v', 'main', '-preset', 'veryslow', '-pix_fmt', 'yuv420p', '-r', String(FPS),
  '-g', String(FPS * SEGMENT), '-keyint_min', String(FPS * SEGMENT), '-sc_threshold', '0', '-bf', '0',
  '-fflags', '+bitexact', '-flags:v', '+bitexact', '-map_metadata', '-1'];

// stream10 deliberately looks different (testsrc2) so a demo shows at a glance which stream plays.
const STREAMS = [
  { id: 'stream1', source: 'testsrc' },
  { id: 'stream10', source: 'testsrc2' },
];
// Ant Media rendition naming: <id>_<height>p<kbps>kbps. The names are nominal; real bitrates are
// far lower to keep the repository small.
const RENDITIONS = [
  { name: '240p300kbps', width: 426, height: 240, bitrate: '45k' },
  { name: '480p800kbps', width: 854, height: 480, bitrate: '70k' },
];
const MAIN = { width: 160, height: 90, bitrate: '30k' };
const DASH_REPS = [{ width: 160, height: 90, bitrate: '30k' }, { width: 320, height: 180, bitrate: '50k' }];

const ff = (args, cwd) => execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args], { cwd, stdio: 'inherit' });
const lavfi = (source, w, h) => ['-f', 'lavfi', '-i', `${source}=size=${w}x${h}:rate=${FPS}:duration=${SECONDS}`];

/** HLS variant via ffmpeg's own master playlist, which gives us exact BANDWIDTH/CODECS strings. */
function hlsVariant(dir, source, prefix, v) {
  ff([...lavfi(source, v.width, v.height), ...X264, '-b:v', v.bitrate, '-maxrate', v.bitrate, '-bufsize', v.bitrate,
    '-f', 'hls', '-hls_time', String(SEGMENT), '-hls_list_size', '0', '-hls_segment_filename', `${prefix}%d.mpegts`,
    '-master_pl_name', `${prefix}-master.m3u8`, `${prefix}.m3u8`], dir);
  const master = readFileSync(join(dir, `${prefix}-master.m3u8`), 'utf8');
  const media = readFileSync(join(dir, `${prefix}.m3u8`), 'utf8');
  rmSync(join(dir, `${prefix}-master.m3u8`));
  rmSync(join(dir, `${prefix}.m3u8`));
  const segments = [...media.matchAll(/#EXTINF:([\d.]+),\s*\n(\S+)/g)].map((m) => ({ file: m[2], duration: Number(m[1]) }));
  return {
    width: v.width,
    height: v.height,
    bandwidth: Number(/BANDWIDTH=(\d+)/.exec(master)?.[1]),
    codecs: /CODECS="([^"]+)"/.exec(master)?.[1] ?? 'avc1.4d401e',
    segments,
  };
}

function dash(dir, source) {
  const inputs = DASH_REPS.flatMap((r) => lavfi(source, r.width, r.height));
  const maps = DASH_REPS.flatMap((r, i) => ['-map', `${i}:v`, `-b:v:${i}`, r.bitrate, `-maxrate:v:${i}`, r.bitrate, `-bufsize:v:${i}`, r.bitrate]);
  ff([...inputs, ...maps, ...X264, '-f', 'dash', '-seg_duration', String(SEGMENT), '-use_template', '1', '-use_timeline', '0',
    '-init_seg_name', 'init_$RepresentationID$.$ext$', '-media_seg_name', 'chunk_$RepresentationID$_$Number%05d$.$ext$',
    'ffmpeg.mpd'], dir);
  const mpd = readFileSync(join(dir, 'ffmpeg.mpd'), 'utf8');
  rmSync(join(dir, 'ffmpeg.mpd'));
  const files = readdirSync(dir);
  return [...mpd.matchAll(/<Representation id="(\d+)"[^>]*codecs="([^"]+)" bandwidth="(\d+)" width="(\d+)" height="(\d+)"/g)].map((m) => ({
    id: m[1],
    codecs: m[2],
    bandwidth: Number(m[3]),
    width: Number(m[4]),
    height: Number(m[5]),
    init: `init_${m[1]}.m4s`,
    chunks: files.filter((f) => f.startsWith(`chunk_${m[1]}_`)).sort(),
  }));
}

const index = { generatedBy: 'src/demo/media/make-media.mjs', segmentSeconds: SEGMENT, streams: {} };
for (const { id, source } of STREAMS) {
  const root = join(here, id);
  rmSync(root, { recursive: true, force: true });
  for (const sub of ['hls', 'dash']) mkdirSync(join(root, sub), { recursive: true });
  const hlsDir = join(root, 'hls');
  const main = hlsVariant(hlsDir, source, 'main', MAIN);
  const renditions = RENDITIONS.map((r) => ({ name: r.name, ...hlsVariant(hlsDir, source, r.name, r) }));
  const dashReps = dash(join(root, 'dash'), source);
  ff([...lavfi(source, MAIN.width, MAIN.height), ...X264, '-b:v', MAIN.bitrate, '-movflags', '+faststart', 'vod.mp4'], root);
  index.streams[id] = { hls: { main, renditions }, dash: { representations: dashReps }, mp4: 'vod.mp4' };
}
writeFileSync(join(here, 'index.json'), JSON.stringify(index, null, 2) + '\n');

let total = 0;
const walk = (d) => readdirSync(d).forEach((f) => (statSync(join(d, f)).isDirectory() ? walk(join(d, f)) : (total += statSync(join(d, f)).size)));
walk(here);
console.log(`demo media written to ${here}: ${(total / 1024).toFixed(0)} KiB in total`);
