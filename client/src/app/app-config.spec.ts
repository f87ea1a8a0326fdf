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
