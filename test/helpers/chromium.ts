// A real headless Chromium driven over the DevTools protocol with the `ws` package (no playwright):
// launch, open a page at a URL, evaluate an expression in it (awaiting promises), close.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';

import { findTool } from './tools.js';

/** CHROMIUM_PATH, else `chromium` on PATH (skip with missingTool(CHROMIUM, 'chromium') when absent). */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? findTool('chromium') ?? '/usr/bin/chromium';

interface Pending {
  resolve: (v: any) => void;
  reject: (e: Error) => void;
}

export interface Page {
  /** Evaluates `expression` in the page; a returned promise is awaited; the value comes back as JSON. */
  evaluate<T = unknown>(expression: string): Promise<T>;
  close(): Promise<void>;
}

export interface Browser {
  newPage(url: string): Promise<Page>;
  close(): Promise<void>;
}

function waitForDevtoolsUrl(proc: ChildProcess, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`chromium did not start within ${timeoutMs} ms:\n${text.slice(-2000)}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      text += chunk.toString();
      const m = /DevTools listening on (ws:\/\/\S+)/.exec(text);
      if (m) {
        clearTimeout(timer);
        proc.stderr?.off('data', onData);
        proc.stderr?.resume(); // keep draining so chromium never blocks on a full pipe
        resolve(m[1]!);
      }
    };
    proc.stderr?.on('data', onData);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`chromium exited with ${code}:\n${text.slice(-2000)}`));
    });
  });
}

export async function launchChromium(): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'sg-chromium-'));
  const proc = spawn(
    CHROMIUM,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
      `--user-data-dir=${profile}`,
      '--remote-debugging-port=0',
      'about:blank',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  // Best effort: helper processes may still be flushing into the profile for a moment after exit.
  const cleanup = () => {
    try {
      rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    } catch {
      // a leftover temp dir is not worth failing a test run over
    }
  };
  let wsUrl: string;
  try {
    wsUrl = await waitForDevtoolsUrl(proc, 20_000);
  } catch (err) {
    proc.kill('SIGKILL');
    cleanup();
    throw err;
  }

  const ws = new WebSocket(wsUrl, { perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  let nextId = 1;
  const pending = new Map<number, Pending>();
  const listeners = new Set<(msg: { method: string; params: any; sessionId?: string }) => void>();
  ws.on('message', (data) => {
    const msg = JSON.parse(data.toString()) as { id?: number; result?: unknown; error?: { message: string }; method?: string; params?: unknown; sessionId?: string };
    if (msg.id !== undefined) {
      const p = pending.get(msg.id);
      pending.delete(msg.id);
      if (msg.error) p?.reject(new Error(msg.error.message));
      else p?.resolve(msg.result);
    } else if (msg.method) {
      for (const l of listeners) l(msg as { method: string; params: any; sessionId?: string });
    }
  });
  const send = (method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<any> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      ws.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    });
  const waitEvent = (method: string, sessionId: string, timeoutMs: number) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        listeners.delete(l);
        reject(new Error(`timed out waiting for ${method}`));
      }, timeoutMs);
      const l = (m: { method: string; sessionId?: string }) => {
        if (m.method === method && m.sessionId === sessionId) {
          clearTimeout(timer);
          listeners.delete(l);
          resolve();
        }
      };
      listeners.add(l);
    });

  return {
    async newPage(url: string): Promise<Page> {
      const { targetId } = await send('Target.createTarget', { url: 'about:blank' });
      const { sessionId } = await send('Target.attachToTarget', { targetId, flatten: true });
      await send('Page.enable', {}, sessionId);
      const loaded = waitEvent('Page.loadEventFired', sessionId, 15_000);
      await send('Page.navigate', { url }, sessionId);
      await loaded;
      return {
        async evaluate<T>(expression: string): Promise<T> {
          const r = await send('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true }, sessionId);
          if (r.exceptionDetails) throw new Error(`page threw: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
          return r.result.value as T;
        },
        close: async () => {
          await send('Target.closeTarget', { targetId }).catch(() => undefined);
        },
      };
    },
    async close(): Promise<void> {
      const exited = new Promise<void>((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) resolve();
        else proc.once('exit', () => resolve());
      });
      // Graceful first (Chromium stops its helpers and flushes the profile), then our child by pid.
      await Promise.race([send('Browser.close').catch(() => undefined), exited]);
      const timer = setTimeout(() => proc.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
      for (const p of pending.values()) p.reject(new Error('browser closed'));
      ws.close();
      cleanup();
    },
  };
}
