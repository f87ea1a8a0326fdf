// Helpers for the end-to-end suite: free ports, a tiny static server, the API process, Chromium.
import { spawn, spawnSync } from 'node:child_process';
import { createReadStream, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

// Children we started, killed if this runner is interrupted or exits without cleaning up.
const children = new Set();
function killChildren() {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}
process.once('exit', killChildren);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    killChildren();
    process.exit(130);
  });
}

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Resolves once no finite animation is running in `page`: Ionic animates modals, toasts, popovers and
 * page transitions with the Web Animations API, mostly inside shadow roots, so those are searched too.
 * Endless animations such as spinners are ignored. Checked every frame, for at most `timeoutMs`.
 */
export async function animationsSettled(page, timeoutMs = 5_000) {
  await page.waitForFunction(
    () => {
      const roots = [document];
      for (const el of document.querySelectorAll('*')) if (el.shadowRoot) roots.push(el.shadowRoot);
      return roots
        .flatMap((root) => root.getAnimations())
        .every((a) => a.playState !== 'running' || a.effect?.getComputedTiming().endTime === Infinity);
    },
    undefined,
    { timeout: timeoutMs, polling: 'raf' },
  );
}

export function freePort() {
  return new Promise((resolvePort, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolvePort(port));
    });
  });
}

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

/** Serves files from the first of `roots` that has them (index.html as fallback) on 127.0.0.1. */
export async function startStaticServer(roots) {
  const bases = roots.map((r) => resolve(r));
  const server = http.createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    const rel = normalize(path).replace(/^([/\\])+/, '');
    let file = null;
    for (const base of bases) {
      const candidate = join(base, rel);
      if (!candidate.startsWith(base + sep) && candidate !== base) continue;
      if (existsSync(candidate) && statSync(candidate).isFile()) {
        file = candidate;
        break;
      }
    }
    if (!file && !extname(rel)) file = join(bases[bases.length - 1], 'index.html');
    if (!file || !existsSync(file)) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': MIME[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
    createReadStream(file).pipe(res);
  });
  const port = await freePort();
  await new Promise((r) => server.listen(port, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** Polls `url` until it answers 200 (or `status`) (bounded). */
export async function waitForOk(url, timeoutMs = 30_000, status = 200) {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.status === status) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = err.message;
    }
    await sleep(200);
  }
  throw new Error(`timed out waiting for ${url} (${last})`);
}

/**
 * Spawns `cmd args`, keeps the last 4,000 characters of its output, and resolves once `readyUrl` answers
 * `status`; if the process exits first (or never gets ready) it is stopped and the error carries its output.
 */
async function startProcess(name, cmd, args, readyUrl, status = 200) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let output = '';
  const collect = (chunk) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
  try {
    await Promise.race([
      waitForOk(readyUrl, 30_000, status),
      exited.then(({ code, signal }) => {
        throw new Error(`${name} exited early (code ${code}, signal ${signal}):\n${output}`);
      }),
    ]);
  } catch (err) {
    await stopProcess(child);
    throw err;
  }
  return { child, output: () => output, stop: () => stopProcess(child) };
}

/**
 * Starts the API dev server binary and waits until GET /v1/todos answers 200 (with `auth`, the 401 of a
 * request without a token).
 */
export async function startApi({ bin, port, dataFile, auth }) {
  if (!existsSync(bin)) {
    throw new Error(`API binary not found at ${bin}: run \`cargo build -p todos --bin dev-server\` or set DEV_SERVER_BIN`);
  }
  const args = ['--host', '127.0.0.1', '--port', String(port), ...(dataFile ? ['--data', dataFile] : ['--memory'])];
  if (auth) args.push('--auth-issuer', auth.issuer, '--auth-audience', auth.audience);
  const baseUrl = `http://127.0.0.1:${port}/v1`;
  const api = await startProcess('API', bin, args, `${baseUrl}/todos`, auth ? 401 : 200);
  return { ...api, baseUrl };
}

/** What the local OpenID provider (scripts/oidc-provider.mjs) and the API agree on. */
export const OIDC = {
  clientId: 'todos-app',
  audience: 'urn:todos:api',
  password: 'todos-dev-password',
  alice: 'alice@example.com',
  bob: 'bob@example.com',
};

/** Starts scripts/oidc-provider.mjs on `port` (issuer http://localhost:<port>) and waits for its discovery. */
export async function startOidcProvider({ port, redirectUris = [], accessTokenTtl = 300 }) {
  const script = resolve(dirname(fileURLToPath(import.meta.url)), '../scripts/oidc-provider.mjs');
  const args = [script, '--port', String(port), '--access-token-ttl', String(accessTokenTtl)];
  for (const uri of redirectUris) args.push('--redirect-uri', uri);
  const issuer = `http://localhost:${port}`;
  const op = await startProcess('OpenID provider', process.execPath, args, `${issuer}/.well-known/openid-configuration`);
  return { ...op, issuer };
}

/** SIGTERM, then SIGKILL after a grace period; resolves when the process is gone. */
export async function stopProcess(child, graceMs = 3000) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await Promise.race([gone, sleep(graceMs + 2000)]);
  clearTimeout(timer);
}

/** True when the dev server binary has the sign-in flags (`--auth-issuer`, `--auth-audience`). */
export function apiSupportsAuth(bin) {
  if (!existsSync(bin)) return false;
  const help = spawnSync(bin, ['--help'], { encoding: 'utf8', timeout: 10_000 });
  return /--auth-issuer/.test(`${help.stdout}${help.stderr}`);
}

/** Launches Debian's Chromium with a fresh profile directory. */
export async function launchBrowser() {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM} (apt-get install -y chromium)`);
  const profile = mkdtempSync(join(tmpdir(), 'todos-e2e-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 390, height: 844 },
    locale: 'en-US',
    timeout: 30_000,
  });
  context.setDefaultTimeout(10_000);
  context.setDefaultNavigationTimeout(20_000);
  return {
    context,
    close: async () => {
      await Promise.race([context.close().catch(() => undefined), sleep(10_000)]);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
