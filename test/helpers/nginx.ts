// A real nginx in front of an origin, asking a gate's /verify for every request (auth_request), with
// the configuration the README documents. Tests skip when nginx is not installed.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { freePort } from './redis-server.js';

export const NGINX = '/usr/sbin/nginx';
export const haveNginx = () => existsSync(NGINX);

export interface AuthRequestNginx {
  url: string;
  close(): Promise<void>;
}

export async function startAuthRequestNginx(gateUrl: string, originUrl: string): Promise<AuthRequestNginx> {
  const dir = mkdtempSync(join(tmpdir(), 'sg-nginx-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  writeFileSync(
    join(dir, 'nginx.conf'),
    `
daemon off; worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/error.log;
events { worker_connections 256; }
http {
  access_log off; client_body_temp_path ${dir}; proxy_temp_path ${dir}; fastcgi_temp_path ${dir}; uwsgi_temp_path ${dir}; scgi_temp_path ${dir};
  server {
    listen 127.0.0.1:${port};
    location / {
      auth_request /_verify;
      auth_request_set $sg_cookie $upstream_http_set_cookie;
      add_header Set-Cookie $sg_cookie;
      proxy_pass ${originUrl};
    }
    location = /_verify {
      internal;
      proxy_pass ${gateUrl}/verify;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-URI $request_uri;
      proxy_set_header X-Original-Method $request_method;
      proxy_set_header X-Real-IP $remote_addr;
      proxy_set_header X-Forwarded-For $remote_addr;
    }
  }
}`,
  );
  const proc: ChildProcess = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'ignore' });
  for (let i = 0; i < 50; i++) {
    try {
      await (await request(`${url}/`)).body.dump();
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    url,
    close: async () => {
      const exited = new Promise<void>((r) => (proc.exitCode !== null ? r() : proc.once('exit', () => r())));
      proc.kill('SIGQUIT');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
