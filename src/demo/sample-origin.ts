// A stand-in for an Ant Media Server origin, for `streamgate demo` and the integration tests: the same
// file layout under /{app}/streams/ (HLS live + ABR, DASH, MP4 VoD), real playable bytes from media/,
// and the HTTP behaviour a proxy must pass through (Range, 206/416, HEAD, ETag/304). No auth at all:
// protecting it is streamgate's job.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sendBytes, type SendOptions } from './send-bytes.js';
import {
  LiveClock,
  liveMpd,
  loadSampleMedia,
  masterPlaylist,
  mediaPlaylist,
  retimeFragment,
  type HlsVariant,
  type SampleMedia,
  type StreamMedia,
} from './sample-media.js';

export interface SampleOriginOptions {
  host?: string;
  /** 0 = any free port (see `url`). */
  port?: number;
  /** The one application name (Ant Media's default `LiveApp`)… */
  app?: string;
  /** …or several, each with the same streams (e.g. `['LiveApp', 'SubscriberApp']`). Wins over `app`. */
  apps?: string[];
  /** Wall clock in ms; tests inject one to make the live window move on demand. */
  now?: () => number;
  mediaDir?: string;
}

export interface SampleOrigin {
  /** Base URL without trailing slash, e.g. `http://127.0.0.1:5080`; streams are under `${url}/${app}/streams/`. */
  url: string;
  /** The first application name; `apps` lists all of them. */
  app: string;
  apps: string[];
  /** Ids of the streams it serves (`stream1`, `stream10`). */
  streams: string[];
  close(): Promise<void>;
}

export const CONTENT_TYPES = {
  m3u8: 'application/vnd.apple.mpegurl',
  ts: 'video/mp2t',
  mpd: 'application/dash+xml',
  m4s: 'video/iso.segment',
  mp4: 'video/mp4',
  html: 'text/html; charset=utf-8',
} as const;

const PLAYLIST: Pick<SendOptions, 'cacheControl'> = { cacheControl: 'no-cache' };
const SEGMENT: Pick<SendOptions, 'cacheControl' | 'ranges'> = { cacheControl: 'max-age=60', ranges: true };

// Ant Media names: <id>_<H>p<B>kbps rendition suffix, %09d HLS index, %05d DASH number.
const HLS_SEGMENT = /^(.+?)(?:_(\d+p\d+kbps))?(\d{9})\.ts$/;
const VARIANT_PLAYLIST = /^(.+?)_(\d+p\d+kbps)\.m3u8$/;
const DASH_FILE = /^([^/]+)\/(?:\1\.mpd|init_(\d+)\.m4s|chunk_(\d+)_(\d{5,})\.m4s)$/;

export async function startSampleOrigin(opts: SampleOriginOptions = {}): Promise<SampleOrigin> {
  const { host = '127.0.0.1', port = 0, now = Date.now } = opts;
  const apps = opts.apps?.length ? [...opts.apps] : [opts.app ?? 'LiveApp'];
  const media = loadSampleMedia(opts.mediaDir);
  const clock = new LiveClock(now, media.segmentSeconds);
  const server = createServer((req, res) => {
    try {
      handle(req, res, apps, media, clock);
    } catch (err) {
      if (!res.headersSent) text(res, 500, 'Internal Server Error');
      else res.destroy(err as Error);
    }
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const hostPart = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${hostPart}:${addr.port}`,
    app: apps[0]!,
    apps,
    streams: [...media.streams.keys()],
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function text(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body), ...headers });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function handle(req: IncomingMessage, res: ServerResponse, apps: string[], media: SampleMedia, clock: LiveClock): void {
  if (req.method === 'OPTIONS') return void res.writeHead(204, { Allow: 'GET, HEAD, OPTIONS' }).end();
  if (req.method !== 'GET' && req.method !== 'HEAD') return text(res, 405, 'Method Not Allowed\n', { Allow: 'GET, HEAD, OPTIONS' });
  const path = (req.url ?? '/').split('?')[0]!;
  if (path === '/') return sendBytes(req, res, Buffer.from(rootPage(apps, media)), { contentType: CONTENT_TYPES.html, ...PLAYLIST });
  const app = apps.find((a) => path === `/${a}` || path.startsWith(`/${a}/`));
  if (!app) return text(res, 404, 'Not Found\n');
  if (path === `/${app}` || path === `/${app}/`) return text(res, 302, '', { Location: `/${app}/play.html` });
  if (path === `/${app}/play.html`) return sendBytes(req, res, Buffer.from(PLAY_PAGE), { contentType: CONTENT_TYPES.html, ...PLAYLIST });
  const prefix = `/${app}/streams/`;
  if (!path.startsWith(prefix) || !serveStreamFile(req, res, path.slice(prefix.length), media, clock)) text(res, 404, 'Not Found\n');
}

/** Returns false when the name is not a file this origin has (→ 404). */
function serveStreamFile(req: IncomingMessage, res: ServerResponse, name: string, media: SampleMedia, clock: LiveClock): boolean {
  const stream = (id: string | undefined): StreamMedia | undefined => (id === undefined ? undefined : media.streams.get(id));
  const rendition = (s: StreamMedia, r: string | undefined): HlsVariant | undefined => (r === undefined ? s.main : s.renditions.find((x) => x.name === r));
  let m: RegExpExecArray | null;

  if ((m = HLS_SEGMENT.exec(name))) {
    const s = stream(m[1]);
    const variant = s && rendition(s, m[2]);
    const n = Number(m[3]);
    // Segments not produced yet do not exist. Old ones are kept (Ant Media deletes them) so that a
    // fixed URL in a test or a README keeps working.
    if (!variant || n >= clock.completed()) return false;
    const seg = variant.segments[n % variant.segments.length]!;
    sendBytes(req, res, seg.body, { contentType: CONTENT_TYPES.ts, etag: seg.etag, lastModified: clock.segmentDate(n), ...SEGMENT });
    return true;
  }
  if (name.endsWith('_adaptive.m3u8')) {
    const s = stream(name.slice(0, -'_adaptive.m3u8'.length));
    if (!s) return false;
    sendBytes(req, res, Buffer.from(masterPlaylist(s)), { contentType: CONTENT_TYPES.m3u8, ...PLAYLIST });
    return true;
  }
  if (name.endsWith('.m3u8')) {
    const v = VARIANT_PLAYLIST.exec(name);
    const s = v ? stream(v[1]) : stream(name.slice(0, -'.m3u8'.length));
    const variant = s && rendition(s, v?.[2]);
    if (!s || !variant) return false;
    const segPrefix = v ? `${s.id}_${v[2]}` : s.id;
    sendBytes(req, res, Buffer.from(mediaPlaylist(variant, segPrefix, clock)), { contentType: CONTENT_TYPES.m3u8, ...PLAYLIST });
    return true;
  }
  if ((m = DASH_FILE.exec(name))) {
    const s = stream(m[1]);
    if (!s) return false;
    if (m[2] === undefined && m[3] === undefined) {
      sendBytes(req, res, Buffer.from(liveMpd(s, clock)), { contentType: CONTENT_TYPES.mpd, ...PLAYLIST });
      return true;
    }
    const rep = s.dash.find((r) => r.id === (m![2] ?? m![3]));
    if (!rep) return false;
    if (m[2] !== undefined) {
      sendBytes(req, res, rep.init.body, { contentType: CONTENT_TYPES.m4s, etag: rep.init.etag, lastModified: rep.init.lastModified, ...SEGMENT });
      return true;
    }
    const number = Number(m[4]);
    if (number < 1 || number > clock.completed()) return false;
    const chunk = rep.chunks[(number - 1) % rep.chunks.length]!;
    // Cycled chunks get the decode time of their place in the endless timeline, so players see no jump.
    const body = retimeFragment(chunk.body, BigInt(number - 1) * BigInt(rep.chunkDuration));
    const etag = `"${chunk.etag.slice(1, -1)}-${number}"`;
    sendBytes(req, res, body, { contentType: CONTENT_TYPES.m4s, etag, lastModified: clock.segmentDate(number - 1), ...SEGMENT });
    return true;
  }
  if (name.endsWith('.mp4')) {
    const s = stream(name.slice(0, -'.mp4'.length));
    if (!s) return false;
    sendBytes(req, res, s.mp4.body, { contentType: CONTENT_TYPES.mp4, etag: s.mp4.etag, lastModified: s.mp4.lastModified, ...SEGMENT });
    return true;
  }
  return false;
}

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

function rootPage(apps: string[], media: SampleMedia): string {
  const app = apps[0]!;
  const links = apps
    .flatMap((a) =>
      [...media.streams.keys()].map((id) => {
        const files = [`${id}.m3u8`, `${id}_adaptive.m3u8`, `${id}/${id}.mpd`, `${id}.mp4`];
        return `<li>${esc(a)}/${esc(id)}: ${files.map((f) => `<a href="/${esc(a)}/streams/${esc(f)}">${esc(f)}</a>`).join(' · ')}</li>`;
      }),
    )
    .join('\n');
  return `<!doctype html><meta charset="utf-8"><title>sample origin</title>
<h1>streamgate sample origin</h1>
<p>An Ant Media-style origin with test streams. Player: <a href="/${esc(app)}/play.html?id=stream1">/${esc(app)}/play.html?id=stream1</a></p>
<ul>${links}</ul>
`;
}

// Ant Media's play.html takes ?id=…&token=…; every query parameter but `id` is passed on to the media
// request so that credentials reach the gate. Native HLS where the browser has it, else the MP4.
const PLAY_PAGE = `<!doctype html><meta charset="utf-8"><title>play</title>
<style>body{font-family:sans-serif;margin:2em}video{width:640px;max-width:100%;background:#000}</style>
<h1 id="title">play</h1>
<video id="v" controls autoplay muted playsinline></video>
<p id="src"></p>
<script>
  const q = new URLSearchParams(location.search);
  const id = q.get('id') || 'stream1';
  q.delete('id');
  const qs = q.toString() ? '?' + q.toString() : '';
  const v = document.getElementById('v');
  const hls = v.canPlayType('application/vnd.apple.mpegurl');
  const src = 'streams/' + encodeURIComponent(id) + (hls ? '.m3u8' : '.mp4') + qs;
  document.getElementById('title').textContent = id;
  document.getElementById('src').textContent = src;
  v.src = src;
</script>
`;
