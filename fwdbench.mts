import { request } from 'undici';
const { startTestGate } = await import(process.cwd() + '/test/helpers/gate.ts');
const { startTestOrigin } = await import(process.cwd() + '/test/helpers/origin.ts');
const origin = await startTestOrigin();
const gate = await startTestGate({ origin: { url: origin.url }, apps: { live: {} } });
for (const path of ['/live/streams/s1_000.ts', '/live/streams/s1.m3u8']) {
  for (let warm = 0; warm < 20; warm++) await (await request(gate.url + path)).body.arrayBuffer();
  const t0 = performance.now();
  for (let i = 0; i < 200; i++) await (await request(gate.url + path)).body.arrayBuffer();
  console.log(path, ((performance.now() - t0) / 200).toFixed(2), 'ms/request');
}
await gate.close(); await origin.close(); process.exit(0);
