// End-to-end: the production build in Debian's Chromium against the real API dev server.
//   npm run build && npm run test:e2e
// Env: DEV_SERVER_BIN (default ../target/debug/dev-server), CHROMIUM_BIN (default /usr/bin/chromium).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { animationsSettled, freePort, launchBrowser, startApi, startStaticServer } from './support.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const clientDir = resolve(here, '..');
const wwwDir = join(clientDir, 'www');
const resultsDir = join(clientDir, 'test-results');
const apiBin = resolve(clientDir, process.env.DEV_SERVER_BIN ?? '../target/debug/dev-server');
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 800 };
const PAGE_SIZE = 2; // small pages so the list needs several x-next-cursor hops

let tmp;
let api;
let apiPort;
let dataFile;
let web;
let browser;
let page;

async function shot(name) {
  await animationsSettled(page);
  await page.screenshot({ path: join(resultsDir, name), fullPage: false });
}

const todoItems = () => page.locator('ion-item-sliding.todo');
const itemByText = (text) => todoItems().filter({ hasText: text });
const modal = () => page.locator('ion-modal');
const errorToast = () => page.locator('ion-toast.error-toast');

async function apiTodos() {
  const res = await fetch(`${api.baseUrl}/todos?limit=1000`, { signal: AbortSignal.timeout(5000) });
  assert.equal(res.status, 200);
  // Follow the cursor too, whatever the server's page size.
  let list = await res.json();
  let next = res.headers.get('x-next-cursor');
  for (let i = 0; next && i < 100; i++) {
    const r = await fetch(`${api.baseUrl}/todos?cursor=${encodeURIComponent(next)}`, { signal: AbortSignal.timeout(5000) });
    list = list.concat(await r.json());
    next = r.headers.get('x-next-cursor');
  }
  return list;
}

async function openAddForm() {
  await page.getByRole('button', { name: 'Add todo' }).click();
  await modal().locator('ion-textarea.description-field textarea').waitFor({ state: 'visible' });
  await animationsSettled(page);
}

async function fillForm({ description, priority, date, time }) {
  if (description !== undefined) await modal().locator('ion-textarea.description-field textarea').fill(description);
  if (priority) {
    await modal().locator('ion-select.priority-field').click();
    const option = page.locator('ion-popover').getByRole('radio', { name: new RegExp(`^${priority}$`, 'i') });
    await option.click();
    await page.locator('ion-popover').waitFor({ state: 'detached' });
  }
  if (date !== undefined) await modal().locator('ion-input.due-date-field input').fill(date);
  if (time !== undefined) await modal().locator('ion-input.due-time-field input').fill(time);
}

async function saveForm() {
  await modal().locator('ion-button.save').click();
}

async function expectModalClosed() {
  await modal().waitFor({ state: 'detached', timeout: 10_000 });
}

describe('todos client (production build, real API)', { timeout: 240_000 }, () => {
  before(async () => {
    assert.ok(existsSync(join(wwwDir, 'index.html')), 'www/index.html missing: run `npm run build` first');
    mkdirSync(resultsDir, { recursive: true });
    tmp = mkdtempSync(join(tmpdir(), 'todos-e2e-'));
    dataFile = join(tmp, 'todos.redb');
    apiPort = await freePort();
    api = await startApi({ bin: apiBin, port: apiPort, dataFile });
    // Runtime config through the same script a deploy uses, served over the build output.
    const overlay = join(tmp, 'overlay');
    execFileSync(process.execPath, [join(clientDir, 'scripts/write-config.mjs'), api.baseUrl, overlay], { stdio: 'pipe' });
    const { readFileSync, writeFileSync } = await import('node:fs');
    const cfg = JSON.parse(readFileSync(join(overlay, 'config.json'), 'utf8'));
    writeFileSync(join(overlay, 'config.json'), JSON.stringify({ ...cfg, pageSize: PAGE_SIZE }));
    web = await startStaticServer([overlay, wwwDir]);
    browser = await launchBrowser();
    page = browser.context.pages()[0] ?? (await browser.context.newPage());
    page.on('pageerror', (err) => console.error('[pageerror]', err.message));
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    await api?.stop().catch(() => undefined);
    await web?.close().catch(() => undefined);
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test('shows the empty state on a fresh server', async () => {
    await page.setViewportSize(PHONE);
    await page.goto(web.url);
    await page.locator('.empty-state').getByText('Nothing to do').waitFor();
    await shot('empty-phone.png');
  });

  test('adds todos (with and without due date/time) and lists them sorted', async () => {
    await openAddForm();
    await fillForm({ description: 'Buy milk', priority: 'Low' });
    await shot('form-phone.png');
    await saveForm();
    await expectModalClosed();
    await itemByText('Buy milk').waitFor();

    await openAddForm();
    await fillForm({ description: 'File taxes', priority: 'High', date: '2031-04-15', time: '09:30' });
    await saveForm();
    await expectModalClosed();

    await openAddForm();
    await fillForm({ description: 'Water plants', date: '2031-04-15' });
    await saveForm();
    await expectModalClosed();

    await openAddForm();
    await fillForm({ description: 'Call the bank', priority: 'High', date: '2030-01-02' });
    await saveForm();
    await expectModalClosed();

    await page.waitForFunction(() => document.querySelectorAll('ion-item-sliding.todo').length === 4);
    const texts = await todoItems().locator('.description').allTextContents();
    assert.deepEqual(
      texts.map((t) => t.trim()),
      ['Call the bank', 'Water plants', 'File taxes', 'Buy milk'],
      'sorted by due date (none last), date-only before timed on the same day',
    );
    // Wire format, as stored by the real server.
    const stored = await apiTodos();
    const byText = Object.fromEntries(stored.map((t) => [t.description, t]));
    assert.equal(byText['File taxes'].dueDate.slice(0, 16), '2031-04-15T09:30');
    assert.equal(byText['File taxes'].priority, 'high');
    assert.equal(byText['Water plants'].dueDate, '2031-04-15');
    assert.equal(byText['Water plants'].priority, 'normal');
    assert.equal(byText['Buy milk'].dueDate, undefined);
    assert.match(byText['Buy milk'].id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    // Locale display: date + time, and date only.
    await itemByText('File taxes').getByText('Apr 15, 2031, 9:30 AM').waitFor();
    await itemByText('Water plants').getByText('Apr 15, 2031').waitFor();
    await itemByText('Buy milk').getByText('No due date').waitFor();
    await shot('list-phone.png');
    await page.setViewportSize(DESKTOP);
    await shot('list-desktop.png');
    await page.setViewportSize(PHONE);
  });

  test('loads every page when the list spans several x-next-cursor pages', async () => {
    // Four todos with pageSize 2 in config.json: at least two cursor hops; add more directly.
    for (let i = 1; i <= 5; i++) {
      const res = await fetch(`${api.baseUrl}/todos`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id: crypto.randomUUID(), description: `Bulk ${i}`, priority: 'low' }),
      });
      assert.equal(res.status, 204);
    }
    const cursorRequests = [];
    page.on('request', (req) => {
      if (req.url().includes('cursor=')) cursorRequests.push(req.url());
    });
    await page.getByRole('button', { name: 'Refresh list' }).click();
    await page.waitForFunction(() => document.querySelectorAll('ion-item-sliding.todo').length === 9);
    assert.ok(cursorRequests.length >= 1, 'followed x-next-cursor');
  });

  test('edits a todo', async () => {
    await itemByText('Buy milk').getByRole('button', { name: 'Edit: Buy milk' }).click();
    const textarea = modal().locator('ion-textarea.description-field textarea');
    await textarea.waitFor();
    assert.equal(await textarea.inputValue(), 'Buy milk');
    await fillForm({ description: 'Buy oat milk', priority: 'Normal', date: '2030-06-01', time: '18:05' });
    await saveForm();
    await expectModalClosed();
    await itemByText('Buy oat milk').getByText('Jun 1, 2030, 6:05 PM').waitFor();
    assert.equal(await itemByText('Buy milk').count(), 0, 'old text gone');
    const stored = (await apiTodos()).filter((t) => t.description.startsWith('Buy'));
    assert.equal(stored.length, 1, 'edit replaced the todo by id');
    assert.equal(stored[0].dueDate.slice(0, 16), '2030-06-01T18:05');
  });

  test('client validation shows the required error at its field', async () => {
    await openAddForm();
    await saveForm();
    const field = modal().locator('ion-textarea.description-field');
    await field.locator('.error-text', { hasText: 'Description is required' }).waitFor({ state: 'visible' });
    assert.match((await field.getAttribute('class')) ?? '', /ion-invalid/);
    await modal().getByRole('button', { name: 'Cancel' }).click();
    await expectModalClosed();
  });

  test("a 422 from the real server is shown at the matching field", async () => {
    // Every rule is also checked in the client, so corrupt the outgoing body (the date picker
    // cannot produce 2031-02-30); the server itself answers 422.
    let sawStatus = 0;
    await page.route('**/v1/todos', async (route) => {
      const req = route.request();
      if (req.method() !== 'POST') return route.fallback();
      const body = JSON.parse(req.postData() ?? '{}');
      body.dueDate = '2031-02-30';
      const response = await route.fetch({ postData: JSON.stringify(body) });
      sawStatus = response.status();
      await route.fulfill({ response });
    });
    try {
      await openAddForm();
      await fillForm({ description: 'Impossible date', date: '2031-02-28' });
      await saveForm();
      const field = modal().locator('ion-input.due-date-field');
      await field.locator('.error-text').filter({ hasText: /Due date/ }).waitFor({ state: 'visible' });
      assert.equal(sawStatus, 422);
      const classes = (await field.getAttribute('class')) ?? '';
      assert.match(classes, /ion-invalid/);
      assert.match(classes, /ion-touched/);
      await shot('form-422-phone.png');
      await page.setViewportSize(DESKTOP);
      await shot('form-422-desktop.png');
      await page.setViewportSize(PHONE);
    } finally {
      await page.unroute('**/v1/todos');
    }
    // Editing the field clears the server error; with the real date the save succeeds.
    await modal().locator('ion-input.due-date-field input').fill('2031-03-01');
    await modal().locator('ion-input.due-date-field .error-text').filter({ hasText: /Due date/ }).waitFor({ state: 'hidden' });
    await saveForm();
    await expectModalClosed();
    await itemByText('Impossible date').waitFor();
    assert.equal((await apiTodos()).filter((t) => t.description === 'Impossible date').length, 1);
  });

  test('works from the keyboard: Enter opens the form, typing fills it, Escape cancels, Enter saves', async () => {
    await page.getByRole('button', { name: 'Add todo' }).focus();
    await page.keyboard.press('Enter');
    const textarea = modal().locator('ion-textarea.description-field textarea');
    await textarea.waitFor();
    await page.waitForFunction(() => document.activeElement?.closest('ion-textarea') !== null, null, { timeout: 5000 });
    await page.keyboard.type('Typed with the keyboard');
    await page.keyboard.press('Escape');
    await expectModalClosed();
    assert.equal(await itemByText('Typed with the keyboard').count(), 0, 'cancelled, nothing saved');

    await page.getByRole('button', { name: 'Add todo' }).focus();
    await page.keyboard.press('Enter');
    await textarea.waitFor();
    await page.waitForFunction(() => document.activeElement?.closest('ion-textarea') !== null, null, { timeout: 5000 });
    await page.keyboard.type('Typed with the keyboard');
    await page.keyboard.press('Tab'); // -> priority select
    await modal().locator('ion-input.due-date-field input').focus();
    await modal().locator('ion-button.save').focus();
    await page.keyboard.press('Enter');
    await expectModalClosed();
    await itemByText('Typed with the keyboard').waitFor();
    await itemByText('Typed with the keyboard').getByRole('button', { name: /^Delete:/ }).click();
    await itemByText('Typed with the keyboard').waitFor({ state: 'detached' });
  });

  test('deletes with undo, then deletes for good', async () => {
    await itemByText('Water plants').getByRole('button', { name: 'Delete: Water plants' }).click();
    await itemByText('Water plants').waitFor({ state: 'detached' });
    const toast = page.locator('ion-toast.info-toast');
    await toast.getByText('Deleted “Water plants”').waitFor();
    await toast.getByRole('button', { name: 'Undo' }).click();
    await itemByText('Water plants').waitFor();
    assert.equal((await apiTodos()).filter((t) => t.description === 'Water plants').length, 1);

    await itemByText('Water plants').getByRole('button', { name: 'Delete: Water plants' }).click();
    await itemByText('Water plants').waitFor({ state: 'detached' });
    assert.equal((await apiTodos()).filter((t) => t.description === 'Water plants').length, 0);
  });

  test('reload shows the same data (persisted by the server)', async () => {
    await page.reload();
    await page.waitForFunction(() => document.querySelectorAll('ion-item-sliding.todo').length === 9);
    await itemByText('Buy oat milk').waitFor();
    assert.equal(await itemByText('Water plants').count(), 0);
  });

  test('API down: load and save failures show a toast with Retry; Retry recovers', async () => {
    await api.stop();
    await page.getByRole('button', { name: 'Refresh list' }).click();
    const toast = errorToast();
    await toast.getByText(/Couldn't load todos/).waitFor();
    await toast.getByRole('button', { name: 'Retry' }).waitFor();
    assert.equal(await todoItems().count(), 9, 'the last list from the server stays visible');
    await shot('error-phone.png');

    // A save while the server is down keeps the form open and offers Retry.
    await openAddForm();
    await fillForm({ description: 'Written while offline' });
    await saveForm();
    await errorToast().getByText(/Couldn't save the todo/).waitFor();
    assert.equal(await modal().count(), 1, 'form stays open with the unsaved data');
    assert.equal(await itemByText('Written while offline').count(), 0, 'unsaved todo is not listed');

    // Bring the API back on the same port with the same data file; Retry saves.
    api = await startApi({ bin: apiBin, port: apiPort, dataFile });
    await errorToast().getByRole('button', { name: 'Retry' }).click();
    await expectModalClosed();
    await itemByText('Written while offline').waitFor();
    await itemByText('Buy oat milk').waitFor();
    await errorToast().waitFor({ state: 'detached' });
  });
});
