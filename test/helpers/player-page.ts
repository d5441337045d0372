// A page server for browser players: serves an empty page with a <video id="v"> and hls.js, from
// another origin than the gate (so the player is a real cross-origin client).
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';

const HLS_JS = readFileSync(createRequire(import.meta.url).resolve('hls.js/dist/hls.min.js'), 'utf8');

/** Serves the player page and hls.js from another origin than the gate (a real cross-origin player). */
export async function startPageServer(): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.url === '/hls.min.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' });
      return res.end(HLS_JS);
    }
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><title>player</title><video id="v" muted playsinline></video><script src="/hls.min.js"></script>');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://localhost:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** What hls.js did on the page: playlist (level) loads, segment loads, and every error (`details:status`). */
export interface HlsRun {
  levelLoads: number;
  fragLoads: number;
  errors: string[];
}

/**
 * Plays `url` with hls.js in the page (credentials off: no cookies) until `levelLoads` playlist
 * loads, a fatal error, or `timeoutMs`. The page must come from startPageServer.
 */
export function playWithHlsJs(tab: { evaluate<T>(expression: string): Promise<T> }, url: string, levelLoads: number, timeoutMs = 40_000): Promise<HlsRun> {
  return tab.evaluate<HlsRun>(`new Promise((resolve) => {
    const hls = new Hls({ xhrSetup: (xhr) => { xhr.withCredentials = false; } });
    const out = { levelLoads: 0, fragLoads: 0, errors: [] };
    hls.on(Hls.Events.LEVEL_LOADED, () => { if (++out.levelLoads >= ${levelLoads}) { hls.destroy(); resolve(out); } });
    hls.on(Hls.Events.FRAG_LOADED, () => { out.fragLoads++; });
    hls.on(Hls.Events.ERROR, (_e, d) => { out.errors.push(d.details + (d.response ? ':' + d.response.code : '')); if (d.fatal) { hls.destroy(); resolve(out); } });
    hls.loadSource(${JSON.stringify(url)});
    hls.attachMedia(document.getElementById('v'));
    setTimeout(() => { hls.destroy(); resolve(out); }, ${timeoutMs});
  })`);
}
