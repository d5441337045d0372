// A minimal HLS/DASH player for tests: resolves URIs the way real players do (RFC 3986 relative
// resolution drops the playlist's query), and can spread consecutive requests over several gate
// replicas (round-robin) to prove a playback needs no replica affinity.
import http from 'node:http';
import { request } from 'undici';

export interface Fetched {
  status: number;
  body: Buffer;
  text: string;
  headers: Record<string, string | string[] | undefined>;
}

export class RoundRobin {
  private i = 0;
  constructor(private readonly bases: string[]) {}
  /** The URL moved onto the next replica (same path and query). */
  next(url: string): string {
    const u = new URL(url);
    const b = new URL(this.bases[this.i++ % this.bases.length]!);
    u.host = b.host;
    return u.toString();
  }
}

/**
 * Requests from another loopback source address (the whole 127.0.0.0/8 is local on Linux): a
 * second client with its own IP, for tests of what one client may do and another may not.
 */
export function fromAddress(localAddress: string): Source {
  return { localAddress, close: async () => undefined };
}
export interface Source {
  localAddress: string;
  close(): Promise<void>;
}

/** node:http from a given source address (undici's connector does not pass localAddress on). */
function fetchFrom(url: string, headers: Record<string, string>, source: Source, method: string): Promise<Fetched> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, localAddress: source.localAddress, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, body, text: body.toString('utf8'), headers: res.headers });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

export async function fetchUrl(url: string, headers: Record<string, string> = {}, source?: Source, method: 'GET' | 'HEAD' = 'GET'): Promise<Fetched> {
  if (source) return fetchFrom(url, headers, source, method);
  const r = await request(url, { headers, method });
  const body = Buffer.from(await r.body.arrayBuffer());
  return { status: r.statusCode, body, text: body.toString('utf8'), headers: r.headers };
}

/** URI lines of an HLS playlist (variants or segments), in order. */
export function hlsUris(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

export interface HlsPlayResult {
  segments: number;
  refreshes: number;
  statuses: number[];
  /** The rewritten variant playlist of the last refresh. */
  lastPlaylist: string;
  /** URL of the variant playlist as the player requests it. */
  variantUrl: string;
  /** A segment URL as the player requested it (carries the grant). */
  segmentUrl: string;
}

/**
 * Plays master → first variant → its segments, then refreshes the variant `refreshes` times,
 * calling `advance()` between refreshes (moves the origin's live window). Throws on any non-200.
 */
export async function playHls(rr: RoundRobin, masterUrl: string, opts: { refreshes: number; advance: () => void }): Promise<HlsPlayResult> {
  const statuses: number[] = [];
  const get = async (url: string) => {
    const r = await fetchUrl(rr.next(url));
    statuses.push(r.status);
    if (r.status !== 200) throw new Error(`GET ${new URL(url).pathname} → ${r.status} ${r.text.slice(0, 200)}`);
    return r;
  };
  const master = await get(masterUrl);
  const variants = hlsUris(master.text);
  if (!variants.length) throw new Error('master playlist has no variants');
  const variantUrl = new URL(variants[0]!, masterUrl).toString();
  const seen = new Set<string>();
  let segments = 0;
  let lastPlaylist = '';
  let segmentUrl = '';
  for (let refresh = 0; refresh <= opts.refreshes; refresh++) {
    const playlist = await get(variantUrl);
    lastPlaylist = playlist.text;
    for (const uri of hlsUris(playlist.text)) {
      const url = new URL(uri, variantUrl).toString();
      const key = new URL(url).pathname;
      if (seen.has(key)) continue;
      seen.add(key);
      const seg = await get(url);
      if (!seg.body.length) throw new Error(`empty segment ${key}`);
      segments++;
      segmentUrl = url;
    }
    opts.advance();
  }
  return { segments, refreshes: opts.refreshes, statuses, lastPlaylist, variantUrl, segmentUrl };
}

/** Plays a DASH manifest: init + the first `chunks` media segments of every representation, refreshing in between. */
export async function playDash(rr: RoundRobin, mpdUrl: string, opts: { refreshes: number; chunks: number; advance: () => void }): Promise<{ segments: number; mpd: string }> {
  let segments = 0;
  let mpd = '';
  for (let refresh = 0; refresh <= opts.refreshes; refresh++) {
    const r = await fetchUrl(rr.next(mpdUrl));
    if (r.status !== 200) throw new Error(`MPD → ${r.status} ${r.text.slice(0, 200)}`);
    mpd = r.text;
    const reps = [...mpd.matchAll(/<Representation id="([^"]+)"/g)].map((m) => m[1]!);
    const tpl = /<SegmentTemplate[^>]*initialization="([^"]+)"[^>]*media="([^"]+)"/.exec(mpd) ?? /<SegmentTemplate[^>]*media="([^"]+)"[^>]*initialization="([^"]+)"/.exec(mpd);
    if (!tpl) throw new Error('no SegmentTemplate');
    const decodeXml = (s: string) => s.replace(/&amp;/g, '&');
    const init = decodeXml(tpl[0].includes('initialization="' + tpl[1]) ? tpl[1]! : tpl[2]!);
    const media = decodeXml(tpl[0].includes('media="' + tpl[2]) ? tpl[2]! : tpl[1]!);
    const start = Number(/startNumber="(\d+)"/.exec(mpd)?.[1] ?? 1);
    for (const rep of reps) {
      const urls = [init.replace('$RepresentationID$', rep)];
      for (let n = start + refresh; n < start + refresh + opts.chunks; n++) {
        urls.push(media.replace('$RepresentationID$', rep).replace(/\$Number%0(\d)d\$/, (_m, w: string) => String(n).padStart(Number(w), '0')).replace('$Number$', String(n)));
      }
      for (const u of urls) {
        const s = await fetchUrl(rr.next(new URL(u, mpdUrl).toString()));
        if (s.status !== 200) throw new Error(`DASH ${u.split('?')[0]} → ${s.status} ${s.text.slice(0, 200)}`);
        segments++;
      }
    }
    opts.advance();
  }
  return { segments, mpd };
}
