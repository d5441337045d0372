// Bench media: one ffmpeg HLS stream with the reference sizes (playlist ≈ 1.6 KB, segments ≈ 280 KB),
// named the Ant Media way. Made once and reused while the parameters are unchanged (≈ 30 s CPU).
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCommand } from './procs.js';

const PARAMS = {
  source: 'testsrc2=size=1280x720:rate=25',
  // 40 × 2 s segments → a ~1.6 KB playlist; ~1.06 Mbit/s → ~280 KB per segment (with TS overhead).
  seconds: 80,
  segmentSeconds: 2,
  bitrate: '1060k',
  streamId: 'stream1',
};

/** Returns { dir, playlist, segment, playlistBytes, segmentBytes } for the stream in `workDir/media`. */
export async function ensureMedia(workDir) {
  const dir = join(workDir, 'media');
  const stampFile = join(dir, '.stamp.json');
  const stamp = JSON.stringify(PARAMS);
  const playlist = `${PARAMS.streamId}.m3u8`;
  if (!existsSync(stampFile) || readFileSync(stampFile, 'utf8') !== stamp) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    console.error(`bench: making media with ffmpeg in ${dir} (once)…`);
    const gop = String(25 * PARAMS.segmentSeconds);
    await runCommand('nice', ['-n', '10', 'ffmpeg', '-hide_banner', '-loglevel', 'error', '-y',
      '-f', 'lavfi', '-i', PARAMS.source, '-t', String(PARAMS.seconds),
      '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-g', gop, '-keyint_min', gop, '-sc_threshold', '0',
      '-b:v', PARAMS.bitrate, '-maxrate', PARAMS.bitrate, '-bufsize', PARAMS.bitrate,
      '-f', 'hls', '-hls_time', String(PARAMS.segmentSeconds), '-hls_list_size', '0', '-start_number', '1',
      '-hls_segment_filename', join(dir, `${PARAMS.streamId}%09d.ts`), join(dir, playlist)]);
    writeFileSync(stampFile, stamp);
  }
  // The benched segment is the one closest to the median size, so the row is "a typical segment".
  const segments = readdirSync(dir)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => ({ f, size: statSync(join(dir, f)).size }))
    .sort((a, b) => a.size - b.size);
  const median = segments[Math.floor(segments.length / 2)];
  if (!median) throw new Error(`no segments in ${dir}`);
  return { dir, playlist, segment: median.f, playlistBytes: statSync(join(dir, playlist)).size, segmentBytes: median.size };
}

/**
 * Web root for the nginx origin: streamgate forwards /{app}/… unchanged, so every app name needs the
 * same files at /{app}/streams/ — symlinks to the one media folder.
 */
export function makeWebRoot(workDir, mediaDir, apps) {
  const root = join(workDir, 'www');
  rmSync(root, { recursive: true, force: true });
  for (const app of apps) {
    mkdirSync(join(root, app), { recursive: true });
    symlinkSync(mediaDir, join(root, app, 'streams'));
  }
  return root;
}
