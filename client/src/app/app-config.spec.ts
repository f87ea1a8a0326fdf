import { DEFAULT_CONFIG, loadConfig, parseConfig } from './app-config';

describe('runtime config (config.json)', () => {
  it('parses apiBaseUrl and strips trailing slashes', () => {
    expect(parseConfig({ apiBaseUrl: 'https://x.example/v1/' })).toEqual({ apiBaseUrl: 'https://x.example/v1' });
  });
  it('accepts an optional positive integer pageSize', () => {
    expect(parseConfig({ apiBaseUrl: 'http://a/v1', pageSize: 50 }).pageSize).toBe(50);
    expect(parseConfig({ apiBaseUrl: 'http://a/v1', pageSize: -1 }).pageSize).toBeUndefined();
  });
  it('rejects a missing or non-http URL', () => {
    expect(() => parseConfig({})).toThrow();
    expect(() => parseConfig({ apiBaseUrl: 'ftp://x' })).toThrow();
    expect(() => parseConfig(null)).toThrow();
  });
  it('fetches config.json without caching', async () => {
    const fetchFn = vi.fn(async () => new Response(JSON.stringify({ apiBaseUrl: 'https://deployed.example/v1' })));
    await expect(loadConfig(fetchFn as unknown as typeof fetch)).resolves.toEqual({ apiBaseUrl: 'https://deployed.example/v1' });
    expect(fetchFn).toHaveBeenCalledWith('config.json', { cache: 'no-store' });
  });
  it('falls back to the local dev server when config.json is missing or broken', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const missing = vi.fn(async () => new Response('nope', { status: 404 }));
    await expect(loadConfig(missing as unknown as typeof fetch)).resolves.toEqual(DEFAULT_CONFIG);
    const broken = vi.fn(async () => new Response('{not json'));
    await expect(loadConfig(broken as unknown as typeof fetch)).resolves.toEqual(DEFAULT_CONFIG);
    expect(DEFAULT_CONFIG.apiBaseUrl).toBe('http://127.0.0.1:3000/v1');
    warn.mockRestore();
  });
});

describe('runtime config: the auth block', () => {
  const base = { apiBaseUrl: 'https://api.example/v1' };

  it('has no auth without an auth block (mode none)', () => {
    expect(parseConfig(base).auth).toBeUndefined();
    expect(parseConfig({ ...base, auth: null }).auth).toBeUndefined();
  });

  it('parses issuer, client id, scope and the optional URLs', () => {
    const config = parseConfig({
      ...base,
      auth: {
        issuer: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc/',
        clientId: ' 4s1 ',
        scope: 'openid   email',
        redirectUri: 'https://app.example/',
        postLogoutRedirectUri: 'https://app.example/',
        logoutUrl: 'https://todos.auth.eu-west-1.amazoncognito.com/logout?client_id=4s1&logout_uri=https%3A%2F%2Fapp.example%2F',
        resource: 'urn:todos:api',
      },
    });
    expect(config.auth).toEqual({
      issuer: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc',
      clientId: '4s1',
      scope: 'openid email',
      redirectUri: 'https://app.example/',
      postLogoutRedirectUri: 'https://app.example/',
      logoutUrl: 'https://todos.auth.eu-west-1.amazoncognito.com/logout?client_id=4s1&logout_uri=https%3A%2F%2Fapp.example%2F',
      resource: 'urn:todos:api',
    });
  });

  it('defaults the scope and leaves the redirect URLs to the app', () => {
    expect(parseConfig({ ...base, auth: { issuer: 'http://localhost:9000', clientId: 'todos-app' } }).auth).toEqual({
      issuer: 'http://localhost:9000',
      clientId: 'todos-app',
      scope: 'openid email profile',
    });
  });

  it('allows plain http only on loopback', () => {
    for (const issuer of ['http://localhost:9000', 'http://127.0.0.1:9000', 'http://[::1]:9000']) {
      expect(parseConfig({ ...base, auth: { issuer, clientId: 'x' } }).auth?.issuer).toBe(issuer);
    }
    expect(() => parseConfig({ ...base, auth: { issuer: 'http://idp.example', clientId: 'x' } })).toThrow(/https/);
    expect(() =>
      parseConfig({ ...base, auth: { issuer: 'https://idp.example', clientId: 'x', redirectUri: 'http://app.example/' } }),
    ).toThrow(/redirectUri/);
  });

  it('rejects a broken auth block instead of ignoring it', () => {
    expect(() => parseConfig({ ...base, auth: 'yes' })).toThrow(/object/);
    expect(() => parseConfig({ ...base, auth: { issuer: 'https://idp.example' } })).toThrow(/clientId/);
    expect(() => parseConfig({ ...base, auth: { clientId: 'x' } })).toThrow(/issuer/);
    expect(() => parseConfig({ ...base, auth: { issuer: 'https://idp.example', clientId: 'x', scope: 'email' } })).toThrow(/openid/);
  });

  it('does not fall back to the open local API when the auth block is broken', async () => {
    const fetchFn = vi.fn(async () => new Response(JSON.stringify({ ...base, auth: { issuer: 'nope', clientId: 'x' } })));
    await expect(loadConfig(fetchFn as unknown as typeof fetch)).rejects.toThrow(/auth.issuer/);
  });
});
