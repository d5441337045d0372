// A real HTTP origin on loopback for integration tests. It serves deterministic bytes for any
// path, honours Range, records every request it receives (so tests can assert what the gate
// forwarded), and has switches for slow, failing and echoing behaviour.
import http from 'node:http';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface TestOrigin {
  url: string;
  port: number;
  seen: SeenRequest[];
  /** Requests whose connection closed before the origin finished answering. */
  aborted: string[];
  /** Deterministic body for a path (what the origin serves for it). */
  bodyFor(path: string): Buffer;
  /** Per-path overrides: status, headers, body, delay before headers (ms). */
  routes: Map<string, { status?: number; headers?: Record<string, string>; body?: string | Buffer; delayMs?: number; hang?: boolean }>;
  close(): Promise<void>;
}

export function deterministicBytes(path: string, size: number): Buffer {
  const out = Buffer.alloc(size);
  let block = createHash('sha256').update(path).digest();
  for (let i = 0; i < size; i += block.length) {
    block.copy(out, i);
    block = createHash('sha256').update(block).digest();
  }
  return out;
}

const sizeFor = (path: string) => (path.endsWith('.ts') || path.endsWith('.mp4') || path.endsWith('.m4s') ? 300_000 : 1_600);

export async function startTestOrigin(): Promise<TestOrigin> {
  const seen: SeenRequest[] = [];
  const aborted: string[] = [];
  const routes: TestOrigin['routes'] = new Map();
  const bodyFor = (path: string) => deterministicBytes(path, sizeFor(path));
  const server = http.createServer((req, res) => {
    res.on('close', () => {
      if (!res.writableFinished) aborted.push(req.url ?? '/');
    });
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = req.url ?? '/';
      seen.push({ method: req.method ?? 'GET', url, headers: req.headers, body: Buffer.concat(chunks) });
      const path = url.split('?', 1)[0]!;
      const r = routes.get(path);
      const respond = () => {
        if (r?.hang) return; // never answers: header timeout tests
        if (path.endsWith('/echo') || r?.body === undefined && req.method === 'POST') {
          const text = JSON.stringify({ method: req.method, url, headers: req.headers, body: Buffer.concat(chunks).toString('base64') });
          res.writeHead(r?.status ?? 200, { 'content-type': 'application/json', ...r?.headers });
          return res.end(text);
        }
        const body = r?.body === undefined ? bodyFor(path) : Buffer.isBuffer(r.body) ? r.body : Buffer.from(r.body); // no copy of a Buffer: large-body tests measure the gate, not this
        const headers: Record<string, string | number> = { 'content-type': 'application/octet-stream', 'accept-ranges': 'bytes', etag: '"v1"', ...r?.headers };
        if (req.headers['if-none-match'] === '"v1"') {
          res.writeHead(304, { etag: '"v1"' });
          return res.end();
        }
        const range = /^bytes=(\d+)-(\d*)$/.exec(String(req.headers.range ?? ''));
        if (range) {
          const start = Number(range[1]);
          const end = range[2] ? Math.min(Number(range[2]), body.length - 1) : body.length - 1;
          res.writeHead(206, { ...headers, 'content-range': `bytes ${start}-${end}/${body.length}`, 'content-length': end - start + 1 });
          return res.end(req.method === 'HEAD' ? undefined : body.subarray(start, end + 1));
        }
        res.writeHead(r?.status ?? 200, { ...headers, 'content-length': body.length });
        res.end(req.method === 'HEAD' ? undefined : body);
      };
      if (r?.delayMs) setTimeout(respond, r.delayMs);
      else respond();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    seen,
    aborted,
    bodyFor,
    routes,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
