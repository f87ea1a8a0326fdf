import { HttpClient, provideHttpClient, withInterceptors } from '@angular/common/http';
import { HttpTestingController, provideHttpClientTesting } from '@angular/common/http/testing';
import { signal } from '@angular/core';
import { TestBed } from '@angular/core/testing';
import { firstValueFrom } from 'rxjs';
import { APP_CONFIG } from '../app-config';
import { apiAuthInterceptor, isApiUrl } from './api-auth.interceptor';
import { AuthSession, AuthState } from './auth-session';

const API = 'https://api.example/v1';

/** A session whose token and renewal the test controls. */
function fakeSession(enabled = true) {
  let token = 'token-1';
  return {
    enabled,
    state: signal<AuthState>(enabled ? 'signed-in' : 'off'),
    user: signal(null),
    problem: signal(null),
    signedOut: signal(false),
    accessToken: vi.fn(async () => token),
    renew: vi.fn(async () => {
      token = 'token-2';
      return true;
    }),
    rejected: vi.fn(async () => undefined),
    accepted: vi.fn(),
    setToken: (t: string) => (token = t),
  };
}

function setup(session = fakeSession()) {
  TestBed.configureTestingModule({
    providers: [
      provideHttpClient(withInterceptors([apiAuthInterceptor])),
      provideHttpClientTesting(),
      { provide: APP_CONFIG, useValue: { apiBaseUrl: API } },
      { provide: AuthSession, useValue: session },
    ],
  });
  return { http: TestBed.inject(HttpClient), backend: TestBed.inject(HttpTestingController), session };
}

/** Lets the interceptor's promise-based steps reach the next request. */
const tick = () => new Promise((r) => setTimeout(r, 0));

describe('isApiUrl', () => {
  it('matches the API origin and base path only', () => {
    expect(isApiUrl(`${API}/todos`, API)).toBe(true);
    expect(isApiUrl(`${API}/todos/1?x=1`, API)).toBe(true);
    expect(isApiUrl(API, `${API}/`)).toBe(true);
    expect(isApiUrl('https://api.example/v10/todos', API)).toBe(false);
    expect(isApiUrl('https://api.example/other', API)).toBe(false);
    expect(isApiUrl('http://api.example/v1/todos', API)).toBe(false); // other scheme
    expect(isApiUrl('https://api.example:8443/v1/todos', API)).toBe(false); // other port
    expect(isApiUrl('https://api.example.evil.test/v1/todos', API)).toBe(false);
    expect(isApiUrl('https://idp.example/token', API)).toBe(false);
    expect(isApiUrl('config.json', API)).toBe(false);
  });
});

describe('apiAuthInterceptor', () => {
  afterEach(() => TestBed.inject(HttpTestingController).verify());

  it('sends the bearer token to the API', async () => {
    const { http, backend, session } = setup();
    const done = firstValueFrom(http.get(`${API}/todos`));
    await tick();
    const req = backend.expectOne(`${API}/todos`);
    expect(req.request.headers.get('Authorization')).toBe('Bearer token-1');
    req.flush([]);
    await done;
    expect(session.accepted).toHaveBeenCalled();
  });

  it('never sends the token to another origin (the issuer, anything else)', async () => {
    const { http, backend, session } = setup();
    for (const url of ['https://idp.example/token', 'https://api.example.evil.test/v1/todos', 'https://api.example/v2/todos']) {
      const done = firstValueFrom(http.get(url));
      await tick();
      const req = backend.expectOne(url);
      expect(req.request.headers.has('Authorization')).toBe(false);
      req.flush({});
      await done;
    }
    expect(session.accessToken).not.toHaveBeenCalled();
  });

  it('does nothing with sign-in off (mode none)', async () => {
    const { http, backend } = setup(fakeSession(false));
    const done = firstValueFrom(http.get(`${API}/todos`));
    const req = backend.expectOne(`${API}/todos`);
    expect(req.request.headers.has('Authorization')).toBe(false);
    req.flush([]);
    await done;
  });

  it('renews once on a 401 and retries with the new token', async () => {
    const { http, backend, session } = setup();
    const done = firstValueFrom(http.post(`${API}/todos`, { id: '1' }));
    await tick();
    backend.expectOne(`${API}/todos`).flush({ message: 'Unauthorized' }, { status: 401, statusText: 'Unauthorized' });
    await tick();
    const retry = backend.expectOne(`${API}/todos`);
    expect(retry.request.headers.get('Authorization')).toBe('Bearer token-2');
    expect(retry.request.body).toEqual({ id: '1' });
    retry.flush(null, { status: 204, statusText: 'No Content' });
    await done;
    expect(session.renew).toHaveBeenCalledTimes(1);
    expect(session.rejected).not.toHaveBeenCalled();
  });

  it('hands a second 401 to the session (sign in again) and still fails the call', async () => {
    const { http, backend, session } = setup();
    const done = firstValueFrom(http.get(`${API}/todos`));
    await tick();
    backend.expectOne(`${API}/todos`).flush({ message: 'Unauthorized' }, { status: 401, statusText: 'Unauthorized' });
    await tick();
    backend.expectOne(`${API}/todos`).flush({ message: 'Unauthorized' }, { status: 401, statusText: 'Unauthorized' });
    await expect(done).rejects.toMatchObject({ status: 401 });
    expect(session.rejected).toHaveBeenCalledTimes(1);
    expect(session.accepted).not.toHaveBeenCalled();
  });

  it('goes to sign-in at once when the renewal fails', async () => {
    const session = fakeSession();
    session.renew.mockImplementation(async () => false);
    const { http, backend } = setup(session);
    const done = firstValueFrom(http.delete(`${API}/todos/1`));
    await tick();
    backend.expectOne(`${API}/todos/1`).flush({ message: 'Unauthorized' }, { status: 401, statusText: 'Unauthorized' });
    await expect(done).rejects.toMatchObject({ status: 401 });
    expect(session.rejected).toHaveBeenCalledTimes(1);
  });

  it('passes other errors (503, network) through without renewing', async () => {
    const { http, backend, session } = setup();
    const done = firstValueFrom(http.get(`${API}/todos`));
    await tick();
    backend.expectOne(`${API}/todos`).flush({ message: 'down' }, { status: 503, statusText: 'Unavailable' });
    await expect(done).rejects.toMatchObject({ status: 503 });
    expect(session.renew).not.toHaveBeenCalled();
    expect(session.rejected).not.toHaveBeenCalled();
  });
});
