// Row (c): the bare Node reference proxy, no auth. http-proxy 1.18 with a keep-alive agent, plus the
// client-abort fix (perf-baseline lesson 1): without it an aborted client leaves its upstream socket
// busy forever and the proxy hangs once the pool is used up.
// usage: node bench/http-proxy-server.js PORT ORIGIN_URL
import http from 'node:http';
import httpProxy from 'http-proxy';

const [port, target] = process.argv.slice(2);
if (!port || !target || !/^http:\/\/127\.0\.0\.1:\d+$/.test(target)) {
  console.error('usage: http-proxy-server.js PORT http://127.0.0.1:ORIGIN_PORT');
  process.exit(2);
}

const agent = new http.Agent({ keepAlive: true });
const proxy = httpProxy.createProxyServer({ target, agent });

proxy.on('proxyReq', (proxyReq, _req, res) => {
  res.once('close', () => {
    if (!res.writableFinished) proxyReq.destroy();
  });
});
proxy.on('error', (err, _req, res) => {
  if (res instanceof http.ServerResponse && !res.headersSent) res.writeHead(502, { 'Content-Type': 'text/plain' }).end('bad gateway\n');
  else res.destroy?.(err);
});

const server = http.createServer((req, res) => proxy.web(req, res));
server.listen(Number(port), '127.0.0.1');
process.once('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  agent.destroy();
});
