// Route a canonical path (segments from canonical-path.ts) and read which stream a media file belongs to.
// Ant Media strips suffixes with backtracking regexes over the raw URI (reference §1.1); here every
// file type has an explicit grammar, parsed by scanning from the end of the name. A stream id is only
// ever cut at a `_` or `-` delimiter or by removing a fixed-width segment suffix (the app's
// `hlsSegmentFileSuffixFormat`, default nine digits), never inside a run of id characters, so a
// `stream1` credential can never name a file of `stream10` or `stream100`.
//
// Folders
// -------
// Below `streams/`, a file in folders (`streams/<f1>/…/<fk>/<name>`) has up to two kinds of reading:
//   * subFolder (Ant Media's `subFolder` setting, nested too): `<name>` read like a file directly
//     under `streams/` — the stream id is in the FILE name, never taken from a folder name;
//   * per-stream folder (DASH/CMAF `streams/<id>/…`, LL-HLS `streams/ll-hls/<id>/…`, also inside a
//     subFolder): the last folder `<fk>` is the stream, but only for the files Ant Media writes there:
//     any `.mpd` or `.m4s`; a playlist carrying the id (`<fk>.m3u8`, `<fk>_….m3u8`, `<fk>__….m3u8`);
//     an LL-HLS init segment `<fk>__….mp4`.
// So `streams/folder/other.m3u8` belongs to `other` alone: a credential for a stream named like the
// folder opens nothing else there.
//
// Residual ambiguity
// ------------------
// Stream ids may contain `_`, `-` and `.`, so some names have two or more readings, and all of them
// are returned in `streamIds` (shortest, i.e. the adaptive/recording reading, first):
//   * ids ending in `_<rendition>` (`_240p`, `_300kbps`, `_240p300kbps`): `s_240p.m3u8`,
//     `s_240p000000001.ts`, `s_240p_1719999999999_init.mp4` belong to rendition 240p of `s` or to
//     stream `s_240p` itself;
//   * ids ending in `_adaptive`: `s_adaptive.m3u8` is the master playlist of `s` or the playlist of
//     stream `s_adaptive`;
//   * recordings (`.mp4`, `.webm`, audio-only `.mp3`): `s_2.mp4` is the 2nd recording of `s` or the
//     recording of stream `s_2`; likewise `s_240p300kbps.mp4` (rendition) and
//     `s-2024-01-31_12-00-00.000.mp4` (date suffix), and their combinations in Ant Media's order
//     `ID[-date][_rendition][_N]` (`s-2024-01-31_12-00-00.000_240p300kbps_2.mp4` reads as four ids);
//   * `s_1719999999999_init.mp4` is an fMP4 init segment of `s` or the recording of stream
//     `s_1719999999999_init`;
//   * with several suffix formats configured (e.g. `%09d` and the legacy `%04d`), a segment name
//     reads once per format that fits: `s1000000001.ts` is segment 1 of `s1` (`%09d`) or segment 1 of
//     `s100000` (`%04d`) — this cuts inside a digit run, which is why `%04d` is opt-in;
//   * in a folder, the per-stream reading and the subFolder reading of the same file:
//     `ll-hls/s/s__master.m3u8` is stream `s` or stream `s__master` of subFolder `ll-hls/s`.
// So a credential for a stream whose id looks like `<other>_240p`, `<other>_2`, `<other>_adaptive`,
// `<other>-<date>` or `<other>__…` also opens the matching files of `<other>`. Deployments that let
// untrusted parties choose stream ids should refuse such ids at creation time. `streams/drm/…` and
// names outside these layouts are not recognized (kind null): the gate refuses them instead of
// guessing.
import type { FileKind } from '../decision/types.js';
import { compileSuffixFormat, DEFAULT_SUFFIX_FORMAT, stripSuffix, type SuffixFormat } from './segment-suffix.js';

export type StreamFileKind = Extract<FileKind, 'manifest' | 'segment' | 'file'>;

export type Route =
  | {
      area: 'streams';
      app: string;
      /** Path below `streams/`, decoded, `/`-joined (e.g. `stream1/stream1.mpd`). */
      file: string;
      /** null: not a file layout we recognize; streamIds is then empty. */
      kind: StreamFileKind | null;
      streamIds: string[];
    }
  | { area: 'rest'; app: string; rest: string[] }
  /** `/{app}/{name}`: the gate compares `name` to the app's websocket path; any other name is static. */
  | { area: 'websocket'; app: string; name: string }
  /** streamId null: the WHIP path has no (legal) stream id. */
  | { area: 'whip'; app: string; streamId: string | null; rest: string[] }
  | { area: 'ingest'; app: string; kind: 'chunked' | 'hls-upload'; streamIds: string[] }
  | { area: 'static'; app: string }
  | { area: 'root' };

/** What an app's settings change in the grammar: the segment suffix formats it accepts. */
export interface StreamGrammar {
  segmentSuffixes: readonly SuffixFormat[];
}

/**
 * The grammar for an app's `hlsSegmentFileSuffixFormat` list. Throws RangeError for a format
 * compileSuffixFormat refuses (config validation reports it first, naming the key).
 */
export function streamGrammar(formats: readonly string[]): StreamGrammar {
  return { segmentSuffixes: formats.map(compileSuffixFormat) };
}

/** Ant Media's defaults: `%09d` segment numbers. */
export const DEFAULT_GRAMMAR: StreamGrammar = streamGrammar([DEFAULT_SUFFIX_FORMAT]);

/** Per-app grammar lookup (an app not listed uses DEFAULT_GRAMMAR). */
export type GrammarOf = (app: string) => StreamGrammar | undefined;
const ADAPTIVE_SUFFIX = '_adaptive';
const INIT_SUFFIX = '_init';
// `-yyyy-MM-dd_HH-mm-ss.SSS`, as appended to recordings when addDateTimeToMp4FileName is on.
const DATE_TEMPLATE = '-dddd-dd-dd_dd-dd-dd.ddd';

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

/**
 * Ant Media's StreamIdValidator alphabet `[A-Za-z0-9_.-]+`, minus ids made of dots only (`.`, `..`,
 * `...`): an origin that builds file paths from the id (`streams/<id>/…`) would read those as the
 * folder itself or its parent.
 */
export function isStreamId(value: string): boolean {
  if (value.length === 0) return false;
  let dotsOnly = true;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    const ok =
      (code >= 0x41 && code <= 0x5a) ||
      (code >= 0x61 && code <= 0x7a) ||
      isDigit(code) ||
      code === 0x5f || // _
      code === 0x2e || // .
      code === 0x2d; // -
    if (!ok) return false;
    if (code !== 0x2e) dotsOnly = false;
  }
  return !dotsOnly;
}

/** Index after a run of one or more digits starting at `from`, or -1 when there is none. */
function skipDigits(s: string, from: number): number {
  let i = from;
  while (i < s.length && isDigit(s.charCodeAt(i))) i++;
  return i > from ? i : -1;
}

/** `<h>p`, `<b>kbps` or `<h>p<b>kbps`, digits non-empty. */
function isRendition(s: string): boolean {
  const first = skipDigits(s, 0);
  if (first < 0) return false;
  if (s.startsWith('kbps', first)) return first + 4 === s.length;
  if (s.charCodeAt(first) !== 0x70 /* p */) return false;
  if (first + 1 === s.length) return true;
  const second = skipDigits(s, first + 1);
  return second > 0 && s.startsWith('kbps', second) && second + 4 === s.length;
}

function isAllDigits(s: string): boolean {
  return s.length > 0 && skipDigits(s, 0) === s.length;
}

/** If `s` ends in `_<suffix>` with `test(suffix)`, the part before the `_`; else null. */
function stripUnderscoreSuffix(s: string, test: (suffix: string) => boolean): string | null {
  const cut = s.lastIndexOf('_');
  if (cut <= 0 || !test(s.slice(cut + 1))) return null;
  return s.slice(0, cut);
}

function stripDateSuffix(s: string): string | null {
  const start = s.length - DATE_TEMPLATE.length;
  if (start <= 0) return null;
  for (let i = 0; i < DATE_TEMPLATE.length; i++) {
    const want = DATE_TEMPLATE.charCodeAt(i);
    const got = s.charCodeAt(start + i);
    if (want === 0x64 /* d */ ? !isDigit(got) : got !== want) return null;
  }
  return s.slice(0, start);
}

/** `head` itself, plus `head` without a trailing `_<rendition>` when it has one. */
function withOptionalRendition(head: string, into: string[]): void {
  into.push(head);
  const base = stripUnderscoreSuffix(head, isRendition);
  if (base !== null) into.push(base);
}

/** Every reading of a recording name `ID[-date][_rendition][_N]` (each part optional). */
function recordingReadings(base: string, into: string[]): void {
  const afterCopy = [base];
  const copyless = stripUnderscoreSuffix(base, isAllDigits);
  if (copyless !== null) afterCopy.push(copyless);
  for (const name of afterCopy) {
    const afterRendition = [name];
    const renditionless = stripUnderscoreSuffix(name, isRendition);
    if (renditionless !== null) afterRendition.push(renditionless);
    for (const candidate of afterRendition) {
      into.push(candidate);
      const dateless = stripDateSuffix(candidate);
      if (dateless !== null) into.push(dateless);
    }
  }
}

/** Shortest first (the adaptive/recording reading), unique, legal ids only. */
function finish(candidates: string[]): string[] {
  const unique = [...new Set(candidates.filter(isStreamId))];
  return unique.sort((a, b) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0));
}

interface FileReading {
  kind: StreamFileKind;
  streamIds: string[];
}

/**
 * A file directly under `streams/` or a subFolder (HLS playlists and segments, fMP4 init, recordings):
 * its kind and every stream id it may belong to, or null when the name fits no layout.
 */
export function readFlatFile(name: string, grammar: StreamGrammar = DEFAULT_GRAMMAR): FileReading | null {
  const dot = name.lastIndexOf('.');
  if (dot <= 0) return null;
  const base = name.slice(0, dot);
  const extension = name.slice(dot + 1); // case-sensitive, like Ant Media
  // Candidate ids are substrings of the base: an illegal character anywhere means no reading.
  if (!isStreamId(base)) return null;
  const ids: string[] = [];
  let kind: StreamFileKind;

  switch (extension) {
    case 'm3u8': {
      kind = 'manifest';
      withOptionalRendition(base, ids);
      if (base.endsWith(ADAPTIVE_SUFFIX)) ids.push(base.slice(0, -ADAPTIVE_SUFFIX.length));
      break;
    }
    case 'ts':
    case 'fmp4': {
      kind = 'segment';
      // One reading per configured suffix format that fits (each cuts at exactly one place).
      for (const format of grammar.segmentSuffixes) {
        const head = stripSuffix(base, format);
        if (head !== null) withOptionalRendition(head, ids);
      }
      break;
    }
    case 'mp3':
      // Audio-only VoD / recordings: named like MP4 recordings.
      kind = 'file';
      recordingReadings(base, ids);
      break;
    case 'mp4':
    case 'webm': {
      // `ID[_rendition]_<ms>_init.mp4` is an fMP4 init segment; it is also a legal recording name.
      const initless = extension === 'mp4' && base.endsWith(INIT_SUFFIX) ? base.slice(0, -INIT_SUFFIX.length) : null;
      const head = initless === null ? null : stripUnderscoreSuffix(initless, isAllDigits);
      if (head !== null) {
        kind = 'segment';
        withOptionalRendition(head, ids);
      } else {
        kind = 'file';
      }
      recordingReadings(base, ids);
      break;
    }
    default:
      return null;
  }
  const streamIds = finish(ids);
  return streamIds.length > 0 ? { kind, streamIds } : null;
}

/**
 * The kind of `name` when it is a file Ant Media writes into a per-stream folder named `folder`
 * (DASH/CMAF `streams/<id>/`, LL-HLS `streams/ll-hls/<id>/`); null when it is not.
 */
function perStreamFileKind(folder: string, name: string): StreamFileKind | null {
  const dot = name.lastIndexOf('.');
  if (dot <= 0 || !isStreamId(folder)) return null;
  const extension = name.slice(dot + 1);
  switch (extension) {
    case 'mpd':
      return 'manifest';
    case 'm4s':
      return 'segment';
    case 'm3u8':
      // Only playlists that carry the folder's id: `<id>.m3u8`, `<id>_….m3u8`, `<id>__….m3u8`.
      return name === `${folder}.m3u8` || name.startsWith(`${folder}_`) ? 'manifest' : null;
    case 'mp4':
      // LL-HLS init segments `<id>__<rendition>_<n>.mp4`.
      return name.startsWith(`${folder}__`) ? 'segment' : null;
    default:
      return null;
  }
}

/** `below` = the segments after `streams`. */
function readStreamsPath(below: string[], grammar: StreamGrammar): FileReading | null {
  const name = below[below.length - 1];
  if (!name) return null;
  if (below.length === 1) return readFlatFile(name, grammar);
  // In folders: the subFolder reading (the id is in the file name) and, for the files a per-stream
  // folder holds, the folder's id. Every reading is kept.
  const folder = below[below.length - 2]!;
  const perStream = perStreamFileKind(folder, name);
  const flat = readFlatFile(name, grammar);
  if (perStream === null) return flat;
  return { kind: perStream, streamIds: finish([folder, ...(flat?.streamIds ?? [])]) };
}

/** Ingest paths name the stream by folder (`chunked/<id>/…`); a bare file falls back to HLS names. */
function ingestStreamIds(below: string[], grammar: StreamGrammar): string[] {
  const [first] = below;
  if (!first) return [];
  if (below.length >= 2) return isStreamId(first) && below[below.length - 1] !== '' ? [first] : [];
  return readFlatFile(first, grammar)?.streamIds ?? [];
}

// Same alphabet as config websocketPath: a name with a dot (play.html) can never be the socket.
function isWebsocketName(name: string): boolean {
  if (name.length === 0) return false;
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i);
    const ok =
      (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a) || isDigit(code) || code === 0x5f || code === 0x2d;
    if (!ok) return false;
  }
  return true;
}

/**
 * A name as a case-insensitive origin compares it: Unicode compatibility forms (NFKC) and simple case
 * mappings both ways, so `ſtreams` (U+017F, upper-cases to `S`), `whıp` (U+0131, to `I`) and
 * full-width letters read as the ASCII name, as Java's String.equalsIgnoreCase and the Unicode case
 * folding of APFS/NTFS read them. ASCII takes the plain lower-casing.
 */
function foldCase(name: string): string {
  for (let i = 0; i < name.length; i++) if (name.charCodeAt(i) > 0x7f) return name.normalize('NFKC').toUpperCase().toLowerCase();
  return name.toLowerCase();
}

/**
 * Route canonical path segments (`/` is `['']`, a trailing slash a final `''`). `grammarOf` gives an
 * app's grammar (its segment suffix formats); apps it does not know use Ant Media's defaults.
 */
export function routeRequest(segments: string[], grammarOf?: GrammarOf): Route {
  const [app, area] = segments;
  // One segment (`/`, `/favicon.ico`, `/LiveApp` before its redirect) is not inside an app.
  if (!app || area === undefined) return { area: 'root' };
  const below = segments.slice(2);
  const grammar = grammarOf?.(app) ?? DEFAULT_GRAMMAR;

  // Reserved folders in any letter case: a case-insensitive origin serves `/{app}/Streams/…` as
  // `/{app}/streams/…`, so it must be authorized as such, never passed as a static file.
  const folder = foldCase(area);
  switch (folder) {
    case 'streams': {
      const file = below.join('/');
      const reading = readStreamsPath(below, grammar);
      return reading
        ? { area: 'streams', app, file, kind: reading.kind, streamIds: reading.streamIds }
        : { area: 'streams', app, file, kind: null, streamIds: [] };
    }
    case 'rest':
      return { area: 'rest', app, rest: below };
    case 'whip': {
      const [id, etag] = below;
      const wellFormed =
        id !== undefined && isStreamId(id) && below.length <= 2 && (etag === undefined || etag.length > 0);
      return { area: 'whip', app, streamId: wellFormed ? id : null, rest: below.slice(1) };
    }
    case 'chunked':
    case 'hls-upload':
      return { area: 'ingest', app, kind: folder, streamIds: ingestStreamIds(below, grammar) };
    default:
      if (below.length === 0 && isWebsocketName(area)) return { area: 'websocket', app, name: area };
      return { area: 'static', app };
  }
}
