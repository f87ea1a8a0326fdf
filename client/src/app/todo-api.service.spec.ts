import { HttpErrorResponse, HttpHeaders, provideHttpClient } from '@angular/common/http';
import { HttpTestingController, provideHttpClientTesting } from '@angular/common/http/testing';
import { TestBed } from '@angular/core/testing';
import { firstValueFrom } from 'rxjs';
import { ApiError, toApiError } from './api-error';
import { APP_CONFIG } from './app-config';
import { TodoApiService } from './todo-api.service';
import { TodoStore } from './todo-store';
import { Todo } from './todo.model';

const BASE = 'http://api.test/v1';
const todo = (id: string, extra: Partial<Todo> = {}): Todo => ({ id, description: `d${id}`, priority: 'normal', ...extra });

let controller: HttpTestingController | undefined;

function setup(pageSize?: number) {
  TestBed.configureTestingModule({
    providers: [
      provideHttpClient(),
      provideHttpClientTesting(),
      { provide: APP_CONFIG, useValue: { apiBaseUrl: `${BASE}/`, pageSize } },
    ],
  });
  controller = TestBed.inject(HttpTestingController);
  return { api: TestBed.inject(TodoApiService), http: controller };
}

/** Lets the async chain of a promise reach its next request. */
const tick = () => new Promise((r) => setTimeout(r, 0));

afterEach(() => {
  controller?.verify();
  controller = undefined;
});

describe('TodoApiService.list', () => {
  it('GETs /todos and returns the array when there is no next cursor', async () => {
    const { api, http } = setup();
    const result = firstValueFrom(api.list());
    http.expectOne(`${BASE}/todos`).flush([todo('1')]);
    expect(await result).toEqual([todo('1')]);
  });

  it('follows x-next-cursor (URL-encoded) until the header is absent', async () => {
    const { api, http } = setup(2);
    const result = firstValueFrom(api.list());
    const first = http.expectOne(`${BASE}/todos?limit=2`);
    expect(first.request.method).toBe('GET');
    first.flush([todo('1'), todo('2')], { headers: new HttpHeaders({ 'x-next-cursor': 'a b/c+d=' }) });
    http
      .expectOne(`${BASE}/todos?limit=2&cursor=a%20b%2Fc%2Bd%3D`)
      .flush([todo('3'), todo('4')], { headers: new HttpHeaders({ 'X-Next-Cursor': 'page3' }) });
    http.expectOne(`${BASE}/todos?limit=2&cursor=page3`).flush([todo('5')]);
    expect((await result).map((t) => t.id)).toEqual(['1', '2', '3', '4', '5']);
  });

  it('treats an empty x-next-cursor as the last page', async () => {
    const { api, http } = setup();
    const result = firstValueFrom(api.list());
    http.expectOne(`${BASE}/todos`).flush([todo('1')], { headers: new HttpHeaders({ 'x-next-cursor': '' }) });
    expect(await result).toHaveLength(1);
  });

  it('stops with an error when the server repeats a cursor', async () => {
    const { api, http } = setup();
    const result = firstValueFrom(api.list());
    const loop = { headers: new HttpHeaders({ 'x-next-cursor': 'same' }) };
    http.expectOne(`${BASE}/todos`).flush([todo('1')], loop);
    http.expectOne(`${BASE}/todos?cursor=same`).flush([todo('2')], loop);
    await expect(result).rejects.toMatchObject({ kind: 'invalid-response' });
  });

  it('fails when a later page fails (no partial list)', async () => {
    const { api, http } = setup();
    const result = firstValueFrom(api.list());
    http.expectOne(`${BASE}/todos`).flush([todo('1')], { headers: new HttpHeaders({ 'x-next-cursor': 'n' }) });
    http.expectOne(`${BASE}/todos?cursor=n`).flush({ message: 'store down' }, { status: 503, statusText: 'Unavailable' });
    await expect(result).rejects.toMatchObject({ kind: 'unavailable', status: 503, message: 'store down' });
  });

  it('rejects a non-array body', async () => {
    const { api, http } = setup();
    const result = firstValueFrom(api.list());
    http.expectOne(`${BASE}/todos`).flush({ items: [] });
    await expect(result).rejects.toBeInstanceOf(ApiError);
  });

  it('maps a network failure (status 0, e.g. server down or CORS refusal)', async () => {
    const { api, http } = setup();
    const result = firstValueFrom(api.list());
    http.expectOne(`${BASE}/todos`).error(new ProgressEvent('error'));
    await expect(result).rejects.toMatchObject({ kind: 'network', status: 0 });
  });
});

describe('TodoApiService.save / remove', () => {
  it('POSTs the todo as JSON and resolves on 204', async () => {
    const { api, http } = setup();
    const body = todo('1', { dueDate: '2030-01-01T10:00:00' });
    const result = firstValueFrom(api.save(body));
    const req = http.expectOne(`${BASE}/todos`);
    expect(req.request.method).toBe('POST');
    expect(req.request.body).toEqual(body);
    req.flush(null, { status: 204, statusText: 'No Content' });
    await expect(result).resolves.toBeUndefined();
  });

  it('turns a 422 into fieldErrors', async () => {
    const { api, http } = setup();
    const result = firstValueFrom(api.save(todo('1')));
    http
      .expectOne(`${BASE}/todos`)
      .flush({ fieldErrors: { description: 'required', dueDate: 'invalid date' } }, { status: 422, statusText: 'Unprocessable' });
    await expect(result).rejects.toMatchObject({
      kind: 'validation',
      status: 422,
      fieldErrors: { description: 'required', dueDate: 'invalid date' },
    });
  });

  it('DELETEs /todos/{id} with the id URL-encoded', async () => {
    const { api, http } = setup();
    const result = firstValueFrom(api.remove('a/b'));
    const req = http.expectOne(`${BASE}/todos/a%2Fb`);
    expect(req.request.method).toBe('DELETE');
    req.flush(null, { status: 204, statusText: 'No Content' });
    await expect(result).resolves.toBeUndefined();
  });
});

describe('toApiError', () => {
  const res = (status: number, error: unknown) => new HttpErrorResponse({ status, error, url: BASE });

  it('maps each status to a kind and a readable message', () => {
    expect(toApiError(res(0, null))).toMatchObject({ kind: 'network', status: 0 });
    expect(toApiError(res(400, { message: 'malformed JSON' }))).toMatchObject({ kind: 'bad-request', message: 'malformed JSON' });
    expect(toApiError(res(413, null))).toMatchObject({ kind: 'too-large' });
    expect(toApiError(res(503, { message: 'store unavailable' }))).toMatchObject({ kind: 'unavailable', message: 'store unavailable' });
    expect(toApiError(res(503, null)).message).toMatch(/unavailable/);
    expect(toApiError(res(500, '<html>oops</html>'))).toMatchObject({ kind: 'server', message: 'The server had a problem (500).' });
    expect(toApiError(res(502, '{"message":"bad gateway"}')).message).toBe('bad gateway');
    expect(toApiError(res(404, { message: 'no route' }))).toMatchObject({ kind: 'http', message: 'no route' });
  });

  it('keeps only string fieldErrors, also from a text body', () => {
    expect(toApiError(res(422, '{"fieldErrors":{"id":"required","x":1}}')).fieldErrors).toEqual({ id: 'required' });
    expect(toApiError(res(422, null)).fieldErrors).toEqual({});
  });
});

describe('TodoStore', () => {
  it('loads all pages, sorts, and shows a write only after the server confirmed it', async () => {
    const { http } = setup();
    const store = TestBed.inject(TodoStore);
    const loading = store.refresh();
    expect(store.loading()).toBe(true);
    http.expectOne(`${BASE}/todos`).flush([todo('b'), todo('a', { dueDate: '2030-01-01' })]);
    await loading;
    expect(store.todos().map((t) => t.id)).toEqual(['a', 'b']);
    expect(store.loaded()).toBe(true);

    const saving = store.save(todo('c', { priority: 'high' }));
    await tick();
    expect(store.todos().map((t) => t.id)).toEqual(['a', 'b']); // not yet confirmed
    http.expectOne(`${BASE}/todos`).flush(null, { status: 204, statusText: 'No Content' });
    await saving;
    expect(store.todos().map((t) => t.id)).toEqual(['a', 'c', 'b']);
  });

  it('keeps the list unchanged when a save or delete fails', async () => {
    const { http } = setup();
    const store = TestBed.inject(TodoStore);
    const loading = store.refresh();
    http.expectOne(`${BASE}/todos`).flush([todo('a')]);
    await loading;

    const saving = store.save(todo('x'));
    http.expectOne(`${BASE}/todos`).flush({ message: 'down' }, { status: 503, statusText: 'Unavailable' });
    await expect(saving).rejects.toMatchObject({ kind: 'unavailable' });

    const removing = store.remove('a');
    http.expectOne(`${BASE}/todos/a`).error(new ProgressEvent('error'));
    await expect(removing).rejects.toMatchObject({ kind: 'network' });
    expect(store.todos().map((t) => t.id)).toEqual(['a']);
  });

  it('keeps the previous list and records the error when a reload fails', async () => {
    const { http } = setup();
    const store = TestBed.inject(TodoStore);
    const first = store.refresh();
    http.expectOne(`${BASE}/todos`).flush([todo('a')]);
    await first;
    const second = store.refresh();
    http.expectOne(`${BASE}/todos`).flush('', { status: 500, statusText: 'Server Error' });
    await expect(second).rejects.toMatchObject({ kind: 'server' });
    expect(store.todos()).toHaveLength(1);
    expect(store.loadError()?.status).toBe(500);
    expect(store.loading()).toBe(false);
  });
});
