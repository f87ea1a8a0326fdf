import { InjectionToken } from '@angular/core';

/**
 * Sign-in settings (`auth` in config.json). Absent = mode `none`: no sign-in UI, no token sent.
 * The app signs in with the OpenID Connect authorization code flow + PKCE as a public client.
 */
export interface AuthSettings {
  /** The issuer, exactly as in the tokens' `iss` (discovery at `<issuer>/.well-known/openid-configuration`). */
  issuer: string;
  /** The app's client id at the issuer (a public client: no secret). */
  clientId: string;
  /** Space-separated scopes; default `openid email profile`. */
  scope: string;
  /** Where the issuer returns after sign-in; default the app's own URL. */
  redirectUri?: string;
  /** Where the issuer returns after sign-out; default the app's own URL. */
  postLogoutRedirectUri?: string;
  /** Sign-out URL for issuers without `end_session_endpoint` in discovery (Cognito's hosted UI `/logout`). */
  logoutUrl?: string;
  /** RFC 8707 resource indicator sent with sign-in and token requests, for issuers that need it. */
  resource?: string;
}

/** Runtime configuration, read from `config.json` next to `index.html` at startup. */
export interface AppConfig {
  /** Base URL of the API including the version segment, e.g. `http://127.0.0.1:3000/v1`. */
  apiBaseUrl: string;
  /** Optional page size sent as `?limit=` when listing (the client follows `x-next-cursor` either way). */
  pageSize?: number;
  /** Sign-in; absent when the API is open (mode `none`). */
  auth?: AuthSettings;
}

export const DEFAULT_CONFIG: AppConfig = { apiBaseUrl: 'http://127.0.0.1:3000/v1' };
export const DEFAULT_SCOPE = 'openid email profile';

export const APP_CONFIG = new InjectionToken<AppConfig>('APP_CONFIG', {
  providedIn: 'root',
  factory: () => DEFAULT_CONFIG,
});

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/** https anywhere, plain http only on this machine (the local provider and `ng serve`). */
function secureUrl(value: unknown, name: string): string {
  if (typeof value !== 'string' || !URL.canParse(value.trim())) {
    throw new Error(`config.json: "auth.${name}" must be a URL`);
  }
  const url = new URL(value.trim());
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.has(url.hostname))) {
    throw new Error(`config.json: "auth.${name}" must use https (plain http only on localhost)`);
  }
  return value.trim();
}

function parseAuth(raw: unknown): AuthSettings {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new Error('config.json: "auth" must be an object');
  const a = raw as Record<string, unknown>;
  const clientId = typeof a['clientId'] === 'string' ? a['clientId'].trim() : '';
  if (!clientId) throw new Error('config.json: "auth.clientId" is required');
  const scope = typeof a['scope'] === 'string' && a['scope'].trim() ? a['scope'].trim().split(/\s+/).join(' ') : DEFAULT_SCOPE;
  if (!scope.split(' ').includes('openid')) throw new Error('config.json: "auth.scope" must include openid');
  const auth: AuthSettings = {
    issuer: secureUrl(a['issuer'], 'issuer').replace(/\/+$/, ''),
    clientId,
    scope,
  };
  for (const key of ['redirectUri', 'postLogoutRedirectUri', 'logoutUrl'] as const) {
    if (a[key] !== undefined && a[key] !== null && a[key] !== '') auth[key] = secureUrl(a[key], key);
  }
  if (typeof a['resource'] === 'string' && a['resource'].trim()) auth.resource = a['resource'].trim();
  return auth;
}

/** Validates a parsed config.json, falling back to the defaults for missing optional fields. */
export function parseConfig(raw: unknown): AppConfig {
  const url = (raw as Partial<AppConfig> | null)?.apiBaseUrl;
  if (typeof url !== 'string' || !/^https?:\/\//.test(url.trim())) {
    throw new Error('config.json: "apiBaseUrl" must be an http(s) URL');
  }
  const config: AppConfig = { apiBaseUrl: url.trim().replace(/\/+$/, '') };
  const pageSize = (raw as Partial<AppConfig>).pageSize;
  if (typeof pageSize === 'number' && Number.isInteger(pageSize) && pageSize > 0) config.pageSize = pageSize;
  const auth = (raw as Partial<AppConfig>).auth;
  if (auth !== undefined && auth !== null) config.auth = parseAuth(auth);
  return config;
}

/**
 * Fetches `config.json` relative to the document (works under any base path). A missing or broken
 * file falls back to the local dev server; a present but invalid `auth` block is an error (the app
 * must never fall back to an open API without sign-in when sign-in was configured).
 */
export async function loadConfig(fetchFn: typeof fetch = fetch, url = 'config.json'): Promise<AppConfig> {
  let raw: unknown;
  try {
    const res = await fetchFn(url, { cache: 'no-store' });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    raw = await res.json();
  } catch (err) {
    console.warn(`Could not load ${url}; using ${DEFAULT_CONFIG.apiBaseUrl}`, err);
    return DEFAULT_CONFIG;
  }
  if (raw && typeof raw === 'object' && (raw as { auth?: unknown }).auth != null) return parseConfig(raw);
  try {
    return parseConfig(raw);
  } catch (err) {
    console.warn(`Could not load ${url}; using ${DEFAULT_CONFIG.apiBaseUrl}`, err);
    return DEFAULT_CONFIG;
  }
}
