import { InjectionToken } from '@angular/core';

/** Runtime configuration, read from `config.json` next to `index.html` at startup. */
export interface AppConfig {
  /** Base URL of the API including the version segment, e.g. `http://127.0.0.1:3000/v1`. */
  apiBaseUrl: string;
  /** Optional page size sent as `?limit=` when listing (the client follows `x-next-cursor` either way). */
  pageSize?: number;
}

export const DEFAULT_CONFIG: AppConfig = { apiBaseUrl: 'http://127.0.0.1:3000/v1' };

export const APP_CONFIG = new InjectionToken<AppConfig>('APP_CONFIG', {
  providedIn: 'root',
  factory: () => DEFAULT_CONFIG,
});

/** Validates a parsed config.json, falling back to the defaults for missing fields. */
export function parseConfig(raw: unknown): AppConfig {
  const url = (raw as Partial<AppConfig> | null)?.apiBaseUrl;
  if (typeof url !== 'string' || !/^https?:\/\//.test(url.trim())) {
    throw new Error('config.json: "apiBaseUrl" must be an http(s) URL');
  }
  const config: AppConfig = { apiBaseUrl: url.trim().replace(/\/+$/, '') };
  const pageSize = (raw as Partial<AppConfig>).pageSize;
  if (typeof pageSize === 'number' && Number.isInteger(pageSize) && pageSize > 0) config.pageSize = pageSize;
  return config;
}

/** Fetches `config.json` relative to the document (works under any base path). */
export async function loadConfig(fetchFn: typeof fetch = fetch, url = 'config.json'): Promise<AppConfig> {
  try {
    const res = await fetchFn(url, { cache: 'no-store' });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    return parseConfig(await res.json());
  } catch (err) {
    console.warn(`Could not load ${url}; using ${DEFAULT_CONFIG.apiBaseUrl}`, err);
    return DEFAULT_CONFIG;
  }
}
