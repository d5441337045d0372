// A WHIP-shaped origin on loopback (RFC 9725 §4): POST /{app}/whip/{id} with an SDP offer answers
// 201 + SDP answer + `Location` + `ETag`; PATCH (trickle ICE, application/trickle-ice-sdpfrag) and
// DELETE on the session URL answer 204, an unknown session 404. Like Ant Media's WhipEndpoint, the
// Location is absolute, built from the origin's own view of the request URI plus `/{uuid}`. Any
// other path answers 200 `ok <path>`.
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { SeenRequest } from './origin.js';

export interface TestWhipOrigin {
  url: string;
  seen: SeenRequest[];
  /** Live session URLs (paths) the origin created and not yet deleted. */
  sessions: Set<string>;
  close(): Promise<void>;
}

export async function startTestWhipOrigin(): Promise<TestWhipOrigin> {
  const seen: SeenRequest[] = [];
  const sessions = new Set<string>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const path = (req.url ?? '/').split('?')[0]!;
      const parts = path.split('/').filter(Boolean); // [app, 'whip', id, resource?]
      // Anything else (play files, pages) is a plain 200, so one origin can stand behind every location.
      if (parts[1] !== 'whip') return void res.writeHead(200, { 'content-type': 'text/plain' }).end(`ok ${path}`);
      if (parts.length < 3 || parts.length > 4) return void res.writeHead(404).end();
      if (parts.length === 3 && req.method === 'POST') {
        if (req.headers['content-type'] !== 'application/sdp' || !body.toString().startsWith('v=0')) return void res.writeHead(400).end();
        const etag = randomUUID();
        const resource = `${path}/${etag}`;
        sessions.add(resource);
        res.writeHead(201, { 'content-type': 'application/sdp', location: `http://${req.headers.host}${resource}`, etag: `"${etag}"` });
        return void res.end('v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n');
      }
      if (parts.length === 4 && (req.method === 'PATCH' || req.method === 'DELETE')) {
        if (!sessions.has(path)) return void res.writeHead(404).end();
        if (req.method === 'PATCH' && req.headers['content-type'] !== 'application/trickle-ice-sdpfrag') return void res.writeHead(415).end();
        if (req.method === 'DELETE') sessions.delete(path);
        return void res.writeHead(204).end();
      }
      res.writeHead(405).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    sessions,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
