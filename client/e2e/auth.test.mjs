// End-to-end with sign-in: the production build in Chromium, the local OpenID provider
// (scripts/oidc-provider.mjs) and the API dev server checking its tokens (--auth-issuer/--auth-audience).
//   npm run build && npm run test:e2e
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  OIDC,
  animationsSettled,
  apiSupportsAuth,
  freePort,
  launchBrowser,
  startApi,
  startOidcProvider,
  startStaticServer,
  waitForOk,
} from './support.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const clientDir = resolve(here, '..');
const wwwDir = join(clientDir, 'www');
const shotsDir = join(here, 'screenshots');
const apiBin = resolve(clientDir, process.env.DEV_SERVER_BIN ?? '../target/debug/dev-server');
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 800 };
/** Short access tokens: the app renews them several times during the run, and one test waits for one to expire. */
const ACCESS_TOKEN_TTL = Number(process.env.E2E_ACCESS_TOKEN_TTL ?? 20);

// The dev server must support sign-in: a binary without it fails here rather than skipping the suite.
assert.ok(apiSupportsAuth(apiBin), `${apiBin} has no --auth-issuer flag (a dev server without sign-in support)`);

let tmp;
let op;
let api;
let web;
/** Requests seen by any page: the bearer token must go to the API only. */
const sent = [];

/** A fresh browser (own profile: no cookies, no storage) on the app. */
async function openApp() {
  const browser = await launchBrowser();
  const page = browser.context.pages()[0] ?? (await browser.context.newPage());
  page.on('pageerror', (err) => console.error('[pageerror]', err.message));
  page.on('request', (req) => sent.push({ url: req.url(), authorization: req.headers()['authorization'] ?? null }));
  await page.setViewportSize(PHONE);
  await page.goto(web.url);
  return { browser, page };
}

/** Waits for Ionic's transitions to end (no element animating), then takes the screenshot. */
async function shot(page, name) {
  await animationsSettled(page);
  await page.screenshot({ path: join(shotsDir, name) });
}

/** From the app's Sign in button through the provider's sign-in page back to the list. */
async function signIn(page, email, { screenshot } = {}) {
  await page.locator('ion-button.sign-in').click();
  await page.waitForURL((url) => url.href.startsWith(op.issuer));
  await page.locator('input[name=email]').waitFor();
  if (screenshot) await shot(page, screenshot);
  await typeCredentials(page, email);
  await signedInAs(page, email);
}

async function typeCredentials(page, email) {
  await page.locator('input[name=email]').fill(email);
  await page.locator('input[name=password]').fill(OIDC.password);
  await page.locator('button[type=submit]').click();
}

async function signedInAs(page, email) {
  await page.waitForURL((url) => url.href.startsWith(web.url));
  await page.locator('.signed-in-as', { hasText: email }).waitFor();
  await page.locator('ion-list.todo-list, .empty-state').first().waitFor();
  assert.equal(new URL(page.url()).search, '', 'nothing of the sign-in response left in the address');
}

/** Resolves when the provider sends the browser back to the app with a code (a new document). */
const backWithCode = (page) => page.waitForRequest((r) => r.url().startsWith(web.url) && r.url().includes('code='), { timeout: 20_000 });

const todoItems = (page) => page.locator('ion-item-sliding.todo');
const itemByText = (page, text) => todoItems(page).filter({ hasText: text });
const modal = (page) => page.locator('ion-modal');
const descriptionField = (page) => modal(page).locator('ion-textarea.description-field textarea');

async function addTodo(page, description) {
  await page.getByRole('button', { name: 'Add todo' }).click();
  await descriptionField(page).waitFor({ state: 'visible' });
  await descriptionField(page).fill(description);
  await modal(page).locator('ion-button.save').click();
  await modal(page).waitFor({ state: 'detached' });
  await itemByText(page, description).waitFor();
}

async function listed(page) {
  await page.locator('ion-list.todo-list, .empty-state').first().waitFor();
  return (await todoItems(page).locator('.description').allTextContents()).map((t) => t.trim()).sort();
}

/** The tokens the library keeps in the tab's sessionStorage. */
const storedTokens = (page) =>
  page.evaluate(() => ({ access: sessionStorage.getItem('access_token'), refresh: sessionStorage.getItem('refresh_token') }));

/** Revokes a refresh token at the provider, as an administrator or a sign-out elsewhere would. */
async function revoke(token) {
  const res = await fetch(`${op.issuer}/token/revocation`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: OIDC.clientId, token }).toString(),
  });
  assert.equal(res.status, 200);
}

describe('todos client with sign-in (local OpenID provider, API checking tokens)', { timeout: 280_000 }, () => {
  before(async () => {
    mkdirSync(shotsDir, { recursive: true });
    tmp = mkdtempSync(join(tmpdir(), 'todos-e2e-auth-'));
    const [opPort, apiPort] = [await freePort(), await freePort()];
    const issuer = `http://localhost:${opPort}`;
    // The app's config.json with the auth block, served over the build (no rebuild).
    const overlay = join(tmp, 'overlay');
    mkdirSync(overlay);
    writeFileSync(
      join(overlay, 'config.json'),
      JSON.stringify({ apiBaseUrl: `http://127.0.0.1:${apiPort}/v1`, auth: { issuer, clientId: OIDC.clientId, scope: 'openid email profile' } }),
    );
    web = await startStaticServer([overlay, wwwDir]);
    op = await startOidcProvider({ port: opPort, redirectUris: [web.url], accessTokenTtl: ACCESS_TOKEN_TTL });
    api = await startApi({ bin: apiBin, port: apiPort, dataFile: join(tmp, 'todos.redb'), auth: { issuer: op.issuer, audience: OIDC.audience } });
  });

  after(async () => {
    await api?.stop().catch(() => undefined);
    await op?.stop().catch(() => undefined);
    await web?.close().catch(() => undefined);
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test('the API refuses a request without a token', async () => {
    const res = await fetch(`${api.baseUrl}/todos`);
    assert.equal(res.status, 401);
  });

  test('alice signs in through the provider, adds, edits and deletes todos, reloads, signs out', async () => {
    const { browser, page } = await openApp();
    try {
      // Signed out: no list, a Sign in button.
      await page.locator('ion-button.sign-in').waitFor();
      assert.equal(await page.locator('ion-list.todo-list').count(), 0);

      // A wrong password is refused by the provider's page.
      await page.locator('ion-button.sign-in').click();
      await page.locator('input[name=email]').waitFor();
      await shot(page, 'auth-sign-in-page.png');
      await page.locator('input[name=email]').fill(OIDC.alice);
      await page.locator('input[name=password]').fill('not-the-password');
      await page.locator('button[type=submit]').click();
      await page.getByText('Wrong email or password.').waitFor();
      await typeCredentials(page, OIDC.alice);
      await signedInAs(page, OIDC.alice);
      await page.locator('.empty-state').getByText('Nothing to do').waitFor();

      await addTodo(page, 'Buy milk');
      await addTodo(page, 'File taxes');
      await addTodo(page, 'Water plants');

      await itemByText(page, 'File taxes').getByRole('button', { name: 'Edit: File taxes' }).click();
      await descriptionField(page).waitFor();
      await descriptionField(page).fill('File taxes by April');
      await modal(page).locator('ion-button.save').click();
      await modal(page).waitFor({ state: 'detached' });
      await itemByText(page, 'File taxes by April').waitFor();

      await itemByText(page, 'Water plants').getByRole('button', { name: 'Delete: Water plants' }).click();
      await itemByText(page, 'Water plants').waitFor({ state: 'detached' });
      await page.locator('ion-toast.info-toast').waitFor({ state: 'detached', timeout: 15_000 });
      assert.deepEqual(await listed(page), ['Buy milk', 'File taxes by April']);

      await shot(page, 'auth-list-phone.png');
      await page.setViewportSize(DESKTOP);
      await shot(page, 'auth-list-desktop.png');
      await page.setViewportSize(PHONE);

      // Reload: still signed in (tokens in this tab's sessionStorage), same list from the server.
      await page.reload();
      await page.locator('.signed-in-as', { hasText: OIDC.alice }).waitFor();
      await itemByText(page, 'Buy milk').waitFor();
      assert.deepEqual(await listed(page), ['Buy milk', 'File taxes by April']);

      // Sign out ends the provider session too: back in the app, signed out; signing in asks for the password again.
      await page.locator('ion-button.sign-out').click();
      await page.waitForURL((url) => url.href.startsWith(web.url) && !url.href.includes('code='));
      await page.locator('.signed-out-notice').getByText('You have signed out.').waitFor();
      await shot(page, 'auth-signed-out.png');
      assert.equal((await storedTokens(page)).access, null, 'tokens forgotten');
      await page.locator('ion-button.sign-in').click();
      await page.locator('input[name=password]').waitFor();
    } finally {
      await browser.close();
    }
  });

  test('bob, in a fresh browser, sees none of alice’s todos; the same text stays separate', async () => {
    const bob = await openApp();
    try {
      await signIn(bob.page, OIDC.bob);
      await bob.page.locator('.empty-state').getByText('Nothing to do').waitFor();
      await addTodo(bob.page, 'Buy milk');
      assert.deepEqual(await listed(bob.page), ['Buy milk']);
    } finally {
      await bob.browser.close();
    }
    const alice = await openApp();
    try {
      await signIn(alice.page, OIDC.alice);
      await itemByText(alice.page, 'Buy milk').waitFor();
      assert.deepEqual(await listed(alice.page), ['Buy milk', 'File taxes by April']);
    } finally {
      await alice.browser.close();
    }
  });

  test('the bearer token went to the API only, never to the provider or anywhere else', () => {
    const withToken = sent.filter((r) => r.authorization);
    assert.ok(withToken.length > 0, 'API calls carried a token');
    for (const r of withToken) {
      assert.ok(r.url.startsWith(`${api.baseUrl}/`), `token sent to ${r.url}`);
      assert.match(r.authorization, /^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
    }
  });

  test('a revoked session sends alice to sign-in and back, with the todo she was editing', async () => {
    const { browser, page } = await openApp();
    try {
      await signIn(page, OIDC.alice);
      await itemByText(page, 'Buy milk').getByRole('button', { name: 'Edit: Buy milk' }).click();
      await descriptionField(page).waitFor();
      await descriptionField(page).fill('Buy oat milk, not dairy');

      // The session is revoked at the provider, and the API no longer takes the token the tab holds.
      const { access, refresh } = await storedTokens(page);
      await revoke(refresh);
      await page.evaluate((token) => sessionStorage.setItem('access_token', token), `${access.slice(0, -6)}AAAAAA`);

      // 401 -> renewal refused -> the provider (whose sign-in session is still on) -> back, form restored.
      const back = backWithCode(page);
      await modal(page).locator('ion-button.save').click();
      await back;
      await page.locator('.signed-in-as', { hasText: OIDC.alice }).waitFor();
      await descriptionField(page).waitFor();
      assert.equal(await descriptionField(page).inputValue(), 'Buy oat milk, not dairy');
      await modal(page).locator('ion-button.save').click();
      await modal(page).waitFor({ state: 'detached' });
      await itemByText(page, 'Buy oat milk, not dairy').waitFor();
      assert.deepEqual(await listed(page), ['Buy oat milk, not dairy', 'File taxes by April']);
    } finally {
      await browser.close();
    }
  });

  test('an expired session (refresh refused, token past exp) goes through the sign-in page and keeps the new todo', async () => {
    const { browser, page } = await openApp();
    try {
      await signIn(page, OIDC.alice);
      await page.getByRole('button', { name: 'Add todo' }).click();
      await descriptionField(page).waitFor({ state: 'visible' });
      await descriptionField(page).fill('Written while the session ran out');

      // Refresh refused from now on, the provider's sign-in session gone: the person must sign in again.
      const { access, refresh } = await storedTokens(page);
      await revoke(refresh);
      await browser.context.clearCookies();
      // Wait until the API itself refuses the access token (its expiry, plus any leeway the API allows).
      const deadline = Date.now() + (ACCESS_TOKEN_TTL + 90) * 1000;
      for (;;) {
        const res = await fetch(`${api.baseUrl}/todos`, { headers: { authorization: `Bearer ${access}` } });
        if (res.status === 401) break;
        assert.ok(Date.now() < deadline, 'the access token never expired');
        await new Promise((r) => setTimeout(r, 1000));
      }
      // The app's own renewal was refused meanwhile, and it said so.
      await page.locator('ion-toast.error-toast').getByText(/Your session has ended/).waitFor();

      await modal(page).locator('ion-button.save').click();
      await page.waitForURL((url) => url.href.startsWith(op.issuer), { timeout: 20_000 });
      await typeCredentials(page, OIDC.alice);
      await page.waitForURL((url) => url.href.startsWith(web.url));
      await descriptionField(page).waitFor();
      assert.equal(await descriptionField(page).inputValue(), 'Written while the session ran out');
      await modal(page).locator('ion-button.save').click();
      await modal(page).waitFor({ state: 'detached' });
      await itemByText(page, 'Written while the session ran out').waitFor();
    } finally {
      await browser.close();
    }
  });

  test('sign-in problems are shown and recoverable: cancel on the provider page, provider down', async () => {
    const { browser, page } = await openApp();
    try {
      await page.locator('ion-button.sign-in').click();
      await page.locator('input[name=email]').waitFor();
      await page.getByRole('link', { name: 'Cancel' }).click();
      await page.locator('.auth-problem').getByText('Sign-in cancelled').waitFor();
      assert.equal(new URL(page.url()).search, '', 'a reload does not report the cancel again');

      await op.stop();
      await page.locator('ion-button.sign-in').click();
      await page.locator('.auth-problem').getByText("Can't reach the sign-in service").waitFor();
      assert.ok(page.url().startsWith(web.url), 'stayed in the app');

      op = await startOidcProvider({ port: Number(new URL(op.issuer).port), redirectUris: [web.url], accessTokenTtl: ACCESS_TOKEN_TTL });
      await waitForOk(`${op.issuer}/.well-known/openid-configuration`);
      await signIn(page, OIDC.bob);
      assert.deepEqual(await listed(page), ['Buy milk']);
    } finally {
      await browser.close();
    }
  });
});
