// What is measured: one entry per table row. `kind` picks the table (and the anchors the ratios are
// taken against); `url(ctx)` returns the URL wrk hammers and may do setup requests first (e.g. fetch a
// playlist through the gate to obtain a playback grant). Adding a row is adding one entry.
import { createHash, randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';

/** Rows the ratios are taken against, per kind. */
export const ANCHORS = { direct: 'a_nginx_direct', nginx: 'b_nginx_proxy' };

/** Targets for streamgate rows, as a fraction of nginx proxy_pass (bench/README.md). */
export const TARGETS = { playlist: 0.5, segment: 0.8 };

/** The live playlist many viewers refresh (row k); the origin counts the requests it gets for it. */
export const LIVE = { app: 'BenchLive', viewers: 1000 };
/** The gate's shared-manifest TTL in the bench config (the default). */
export const MANIFEST_TTL_MS = 500;

/** Per-run secrets: the gate config and the credentials are made from the same values. */
export function makeSecrets() {
  const r = (n) => randomBytes(n).toString('base64url');
  return { hash: r(24), jwt: r(32), session: r(32) };
}

/** The app/session part of the generated streamgate config: one app per auth mode. */
export const gateConfig = (secrets) => ({
  session: { secrets: [secrets.session] },
  manifest: { cacheTtlMs: MANIFEST_TTL_MS },
  apps: {
    BenchHash: { play: { hash: { enabled: true, secret: secrets.hash } } },
    [LIVE.app]: { play: { jwt: { enabled: true, secret: secrets.jwt } } },
    BenchJwt: { play: { jwt: { enabled: true, secret: secrets.jwt } } },
    BenchOpen: {},
  },
});

/** Ant Media hash token: lowercase hex sha256(streamId + "play" + secret). */
export const hashToken = (streamId, secret) => createHash('sha256').update(streamId + 'play' + secret, 'utf8').digest('hex');

/** Ant Media stream JWT: HS256 with claims streamId, type, exp (+ `extra`); valid for far longer than any run. */
export const streamJwt = (streamId, secret, extra = {}) =>
  new SignJWT({ streamId, type: 'play', ...extra })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setExpirationTime(Math.floor(Date.now() / 1000) + 12 * 3600)
    .sign(new TextEncoder().encode(secret));

const CONFIGS = [
  { id: 'a_nginx_direct', label: '(a) nginx origin direct', server: 'origin', app: 'LiveApp' },
  { id: 'b_nginx_proxy', label: '(b) nginx proxy_pass + keepalive', server: 'nginxProxy', app: 'LiveApp' },
  { id: 'c_http_proxy', label: '(c) http-proxy, no auth', server: 'httpProxy', app: 'LiveApp' },
  // A credential on a playlist opens a playback session: the gate answers a rewritten playlist whose
  // URIs carry a grant, so these playlist rows measure "verify + issue grant + rewrite".
  { id: 'd_gate_hash', label: '(d) streamgate, hash token (playlist: rewritten)', server: 'gate', app: 'BenchHash', query: (ctx) => `token=${ctx.token.hash}`, rewrites: true },
  { id: 'e_gate_jwt', label: '(e) streamgate, JWT HS256 (playlist: rewritten)', server: 'gate', app: 'BenchJwt', query: (ctx) => `token=${ctx.token.jwt}`, rewrites: true },
  { id: 'f_gate_open', label: '(f) streamgate, no auth', server: 'gate', app: 'BenchOpen' },
  // session.enabled: false — the credential is checked and the playlist passes unchanged (no grant,
  // no rewrite): the cost of authorization alone, as Ant Media's players use it (token on every request).
  { id: 'h_gate_hash_plain', label: '(h) streamgate, hash token, sessions off', server: 'gatePlain', app: 'BenchHash', query: (ctx) => `token=${ctx.token.hash}` },
  { id: 'i_gate_jwt_plain', label: '(i) streamgate, JWT HS256, sessions off', server: 'gatePlain', app: 'BenchJwt', query: (ctx) => `token=${ctx.token.jwt}` },
];

/**
 * A row: `id`, `label`, `kind` ('playlist' | 'segment'), `server` (origin | nginxProxy | httpProxy |
 * gate), `url(ctx)` and optionally `body: 'rewritten'` (playlist size changes; only checked for the
 * grant parameter) and `targeted: false` (a context row: no target applies). `url` is called again before every run, so it may fetch fresh grants.
 * In `ctx`: `url(server, app, file, query?)` → `${server}/${app}/streams/${file}?${query}`;
 * `media.playlist` / `media.segment` (benched names); `token.hash` / `token.jwt` (valid for
 * `media.streamId`); `grantParam`; `fetchText(url)` (GET over loopback, insists on 200).
 */
export const SCENARIOS = [
  ...['playlist', 'segment'].flatMap((kind) =>
    CONFIGS.map((c) => ({
      id: c.id,
      label: c.label,
      kind,
      server: c.server,
      body: kind === 'playlist' && c.rewrites ? 'rewritten' : 'exact',
      // Playlists passed through unchanged (no auth, sessions off) are context, not targets (bench/README.md).
      targeted: kind === 'segment' || c.rewrites === true,
      url: (ctx) => ctx.url(c.server, c.app, kind === 'playlist' ? ctx.media.playlist : ctx.media.segment, c.query?.(ctx)),
    })),
  ),
  {
    // What a player does after the first playlist: segment URIs carry ?sg=<grant> instead of the token.
    id: 'g_gate_grant',
    label: '(g) streamgate, segment with ?sg= grant (from a hash-token playlist)',
    kind: 'segment',
    server: 'gate',
    url: async (ctx) => (await grantedSegment(ctx)).href,
  },
  {
    // What players send most: a live-playlist refresh carrying the grant (verify + one epoch read +
    // re-mint + rewrite), not a first request with a token.
    id: 'g_gate_grant',
    label: '(g) streamgate, playlist refresh with ?sg= grant (from a hash-token playlist)',
    kind: 'playlist',
    server: 'gate',
    body: 'rewritten',
    url: async (ctx) => {
      const grant = (await grantedSegment(ctx)).searchParams.get(ctx.grantParam);
      return ctx.url('gate', 'BenchHash', ctx.media.playlist, `${ctx.grantParam}=${grant}`);
    },
  },
  {
    // Many viewers, one live playlist: every request carries a different viewer's grant (wrk Lua
    // picks the path), so every answer is a different document; the origin should see at most one
    // request per manifest TTL whatever the number of viewers.
    id: 'k_gate_1000_viewers',
    label: `(k) streamgate, ${LIVE.viewers.toLocaleString('en-US')} viewers (distinct grants) refreshing one live playlist`,
    kind: 'playlist',
    server: 'gate',
    body: 'rewritten',
    countOrigin: true,
    url: async (ctx) => {
      const paths = await liveViewers(ctx, LIVE.viewers);
      return { url: `${ctx.serverUrl('gate')}${paths[0]}`, paths };
    },
  },
];

/** The first URI line of a rewritten playlist carries the grant; returns it. */
function grantIn(playlist, param) {
  const line = playlist.split('\n').find((l) => l !== '' && !l.startsWith('#'));
  const grant = line && new URL(line, 'http://x/').searchParams.get(param);
  if (!grant) throw new Error('no grant in the rewritten playlist');
  return grant;
}

/**
 * `count` viewers of one live playlist: each opens its own playback with a JWT of its own (one
 * address cannot stand for many viewers with one shared hash token: the gate counts a credential
 * re-sent from one address as one playback), then refreshes with its grant. Returns their refresh paths.
 */
async function liveViewers(ctx, count) {
  const paths = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const first = ctx.url('gate', LIVE.app, ctx.media.playlist, `token=${await ctx.viewerJwt(i)}`);
      const grant = grantIn(await ctx.fetchText(first), ctx.grantParam);
      paths[i] = `/${LIVE.app}/streams/${ctx.media.playlist}?${ctx.grantParam}=${grant}`;
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  if (new Set(paths).size !== count) throw new Error('viewers do not have distinct grants');
  return paths;
}

/** The bench segment's URL as a player finds it in a hash-token playlist: carrying a fresh grant. */
async function grantedSegment(ctx) {
  const playlist = ctx.url('gate', 'BenchHash', ctx.media.playlist, `token=${ctx.token.hash}`);
  const uri = (await ctx.fetchText(playlist)).split('\n').find((l) => !l.startsWith('#') && l.includes(ctx.media.segment));
  if (!uri || !uri.includes(`${ctx.grantParam}=`)) throw new Error(`no granted URI for ${ctx.media.segment} in the rewritten playlist`);
  return new URL(uri, playlist);
}

/** Every app name the origin must serve (nginx gets the same files under each). */
export const originApps = (secrets) => ['LiveApp', ...Object.keys(gateConfig(secrets).apps)];

/** The path whose origin requests row k counts. */
export const livePath = (media) => `/${LIVE.app}/streams/${media.playlist}`;
