// The demo origin's media: the committed files under media/ (made once by media/make-media.mjs) and
// the live manifests built from them. 4 real 2 s segments per variant are cycled to fake an endless
// live stream; HLS marks each wrap with EXT-X-DISCONTINUITY, DASH rewrites the fragment times.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface IndexSegment { file: string; duration: number }
interface IndexVariant { width: number; height: number; bandwidth: number; codecs: string; segments: IndexSegment[] }
interface IndexRendition extends IndexVariant { name: string }
interface IndexDashRep { id: string; codecs: string; bandwidth: number; width: number; height: number; init: string; chunks: string[] }
interface IndexFile {
  segmentSeconds: number;
  streams: Record<string, { hls: { main: IndexVariant; renditions: IndexRendition[] }; dash: { representations: IndexDashRep[] }; mp4: string }>;
}

export interface MediaFile { body: Buffer; etag: string; lastModified: Date }
export interface HlsVariant extends Omit<IndexVariant, 'segments'> { segments: (MediaFile & { duration: number })[] }
export interface DashRep extends Omit<IndexDashRep, 'init' | 'chunks'> {
  init: MediaFile;
  chunks: (MediaFile & { baseTime: bigint })[];
  timescale: number;
  /** Chunk duration in `timescale` units. */
  chunkDuration: number;
}
export interface StreamMedia {
  id: string;
  main: HlsVariant;
  renditions: (HlsVariant & { name: string })[];
  dash: DashRep[];
  mp4: MediaFile;
}
export interface SampleMedia { segmentSeconds: number; streams: Map<string, StreamMedia> }

/**
 * media/ next to this file under tsx (src/demo/), or back in src/ when running compiled from dist/demo/
 * (tsc copies no assets and the build script is plain `tsc`).
 */
export function defaultMediaDir(): string {
  const candidates = ['./media/', '../../src/demo/media/'].map((rel) => fileURLToPath(new URL(rel, import.meta.url)));
  const found = candidates.find((dir) => existsSync(join(dir, 'index.json')));
  if (!found) throw new Error(`demo media not found (looked in ${candidates.join(', ')})`);
  return found;
}

function loadFile(path: string): MediaFile {
  const body = readFileSync(path);
  const etag = `"${createHash('sha1').update(body).digest('base64url').slice(0, 20)}"`;
  return { body, etag, lastModified: statSync(path).mtime };
}

// --- ISO BMFF (fMP4) boxes: just enough to read timescales and move fragments in time ---------

interface Box { type: string; start: number; body: number; end: number }

function* boxes(buf: Buffer, start = 0, end = buf.length): Generator<Box> {
  let off = start;
  while (off + 8 <= end) {
    let size = buf.readUInt32BE(off);
    let header = 8;
    if (size === 1) {
      size = Number(buf.readBigUInt64BE(off + 8));
      header = 16;
    } else if (size === 0) size = end - off;
    if (size < header || off + size > end) return;
    yield { type: buf.toString('latin1', off + 4, off + 8), start: off, body: off + header, end: off + size };
    off += size;
  }
}

function find(buf: Buffer, path: string[], start = 0, end = buf.length): Box[] {
  const [head, ...rest] = path;
  const hits = [...boxes(buf, start, end)].filter((b) => b.type === head);
  return rest.length === 0 ? hits : hits.flatMap((b) => find(buf, rest, b.body, b.end));
}

const readVersioned = (buf: Buffer, at: number, v1: boolean) => (v1 ? buf.readBigUInt64BE(at) : BigInt(buf.readUInt32BE(at)));
function writeVersioned(buf: Buffer, at: number, v1: boolean, value: bigint): void {
  if (v1) buf.writeBigUInt64BE(BigInt.asUintN(64, value), at);
  else buf.writeUInt32BE(Number(BigInt.asUintN(32, value)), at);
}

function trackTimescale(init: Buffer): number {
  const mdhd = find(init, ['moov', 'trak', 'mdia', 'mdhd'])[0];
  if (!mdhd) throw new Error('init segment without mdhd');
  const v1 = init[mdhd.body] === 1;
  return init.readUInt32BE(mdhd.body + 4 + (v1 ? 16 : 8));
}

function fragmentBaseTime(chunk: Buffer): bigint {
  const tfdt = find(chunk, ['moof', 'traf', 'tfdt'])[0];
  if (!tfdt) throw new Error('media segment without tfdt');
  return readVersioned(chunk, tfdt.body + 4, chunk[tfdt.body] === 1);
}

/** A copy of `chunk` whose decode times (tfdt, and sidx's earliest presentation time) start at `base`. */
export function retimeFragment(chunk: Buffer, base: bigint): Buffer {
  const out = Buffer.from(chunk);
  const delta = base - fragmentBaseTime(chunk);
  for (const tfdt of find(out, ['moof', 'traf', 'tfdt'])) {
    const v1 = out[tfdt.body] === 1;
    writeVersioned(out, tfdt.body + 4, v1, readVersioned(out, tfdt.body + 4, v1) + delta);
  }
  for (const sidx of find(out, ['sidx'])) {
    const v1 = out[sidx.body] === 1;
    const at = sidx.body + 12; // version/flags, reference_ID, timescale
    writeVersioned(out, at, v1, readVersioned(out, at, v1) + delta);
  }
  return out;
}

export function loadSampleMedia(dir = defaultMediaDir()): SampleMedia {
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as IndexFile;
  const streams = new Map<string, StreamMedia>();
  for (const [id, s] of Object.entries(index.streams)) {
    const variant = (v: IndexVariant): HlsVariant => ({
      width: v.width,
      height: v.height,
      bandwidth: v.bandwidth,
      codecs: v.codecs,
      segments: v.segments.map((seg) => ({ ...loadFile(join(dir, id, 'hls', seg.file)), duration: seg.duration })),
    });
    const dash = s.dash.representations.map((r): DashRep => {
      const init = loadFile(join(dir, id, 'dash', r.init));
      const chunks = r.chunks.map((c) => {
        const f = loadFile(join(dir, id, 'dash', c));
        return { ...f, baseTime: fragmentBaseTime(f.body) };
      });
      const [c0, c1] = chunks;
      if (!c0 || !c1) throw new Error(`${id}: DASH representation ${r.id} needs at least 2 chunks`);
      const { init: _i, chunks: _c, ...rest } = r;
      return { ...rest, init, chunks, timescale: trackTimescale(init.body), chunkDuration: Number(c1.baseTime - c0.baseTime) };
    });
    streams.set(id, {
      id,
      main: variant(s.hls.main),
      renditions: s.hls.renditions.map((r) => ({ name: r.name, ...variant(r) })),
      dash,
      mp4: loadFile(join(dir, id, s.mp4)),
    });
  }
  return { segmentSeconds: index.segmentSeconds, streams };
}

// --- live manifests --------------------------------------------------------------------------

/** Ant Media's `%09d` segment suffix. */
export const segmentNumber = (n: number) => String(n).padStart(9, '0');
export const WINDOW = 5;

/**
 * Where the fake live edge is. Segment n covers media time [n·d, (n+1)·d) and exists once complete;
 * the clock starts a full window in the past so the first playlist already has WINDOW segments.
 */
export class LiveClock {
  readonly startedAt: number;
  constructor(private readonly now: () => number, readonly segmentSeconds: number) {
    this.startedAt = now() - WINDOW * segmentSeconds * 1000;
  }
  /** Number of complete segments so far (HLS numbers them from 0, DASH from 1). */
  completed(): number {
    return Math.floor((this.now() - this.startedAt) / (this.segmentSeconds * 1000));
  }
  isoNow(): string {
    return new Date(this.now()).toISOString();
  }
  segmentDate(n: number): Date {
    return new Date(this.startedAt + (n + 1) * this.segmentSeconds * 1000);
  }
}

/** Live media playlist: the last WINDOW segments, named `<prefix><%09d>.ts` like Ant Media's muxer. */
export function mediaPlaylist(variant: HlsVariant, prefix: string, clock: LiveClock): string {
  const k = variant.segments.length;
  const last = clock.completed() - 1;
  const first = Math.max(0, last - WINDOW + 1);
  const target = Math.ceil(Math.max(...variant.segments.map((s) => s.duration)));
  const lines = ['#EXTM3U', '#EXT-X-VERSION:3', `#EXT-X-TARGETDURATION:${target}`, `#EXT-X-MEDIA-SEQUENCE:${first}`];
  // Each wrap of the cycle restarts timestamps; the sequence counts wraps already out of the window.
  lines.push(`#EXT-X-DISCONTINUITY-SEQUENCE:${Math.floor(first / k)}`);
  for (let n = first; n <= last; n++) {
    if (n > first && n % k === 0) lines.push('#EXT-X-DISCONTINUITY');
    lines.push(`#EXTINF:${variant.segments[n % k]!.duration.toFixed(3)},`, `${prefix}${segmentNumber(n)}.ts`);
  }
  return lines.join('\n') + '\n';
}

export function masterPlaylist(stream: StreamMedia): string {
  const lines = ['#EXTM3U', '#EXT-X-VERSION:3'];
  for (const r of stream.renditions) {
    lines.push(`#EXT-X-STREAM-INF:BANDWIDTH=${r.bandwidth},RESOLUTION=${r.width}x${r.height},CODECS="${r.codecs}"`);
    lines.push(`${stream.id}_${r.name}.m3u8`);
  }
  return lines.join('\n') + '\n';
}

/** Dynamic MPD addressed by $Number$ (startNumber 1): chunk m covers [(m-1)·d, m·d). */
export function liveMpd(stream: StreamMedia, clock: LiveClock): string {
  const d = clock.segmentSeconds;
  const reps = stream.dash
    .map(
      (r) =>
        `      <Representation id="${r.id}" codecs="${r.codecs}" bandwidth="${r.bandwidth}" width="${r.width}" height="${r.height}">\n` +
        `        <SegmentTemplate timescale="${r.timescale}" duration="${r.chunkDuration}" startNumber="1" ` +
        `initialization="init_$RepresentationID$.m4s" media="chunk_$RepresentationID$_$Number%05d$.m4s"/>\n` +
        `      </Representation>`,
    )
    .join('\n');
  return `<?xml version="1.0" encoding="utf-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-live:2011" type="dynamic"
  availabilityStartTime="${new Date(clock.startedAt).toISOString()}" publishTime="${clock.isoNow()}"
  minimumUpdatePeriod="PT${d}S" minBufferTime="PT${2 * d}S" timeShiftBufferDepth="PT${WINDOW * d}S"
  suggestedPresentationDelay="PT${3 * d}S" maxSegmentDuration="PT${d}S">
  <Period id="0" start="PT0S">
    <AdaptationSet id="0" contentType="video" mimeType="video/mp4" segmentAlignment="true" startWithSAP="1">
${reps}
    </AdaptationSet>
  </Period>
  <UTCTiming schemeIdUri="urn:mpeg:dash:utc:direct:2014" value="${clock.isoNow()}"/>
</MPD>
`;
}
