#!/usr/bin/env node
// Writes config.json (the app's runtime configuration) into a built app.
//
//   node scripts/write-config.mjs <apiBaseUrl | path/to/outputs.json> [outDir] [--client-id ID] [--app-url URL] [--resource URI]
//
// The first argument is either the API base URL (e.g. https://abc.execute-api.eu-west-1.amazonaws.com/v1)
// or a deploy outputs file such as .stacks/<stack>/outputs.json: {"apiUrl": "https://.../v1"} and, for a
// stack with sign-in, "authMode" ("none" | "cognito" | "jwt"), "issuer", "clientId", "audience",
// "scopes" (space-separated) and, for cognito, "hostedUiUrl". An outputs file without those keys is an
// open API (mode none). outDir defaults to ./www (the production build).
//
//   --client-id ID   the app's client id at the issuer (jwt mode, when the outputs have none)
//   --app-url URL    where the app is served, if not where config.json is (sign-in and sign-out return there)
//   --resource URI   send this RFC 8707 resource indicator when signing in (issuers that need one)
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';

export class ConfigError extends Error {}

function httpUrl(value, what) {
  if (typeof value !== 'string' || !URL.canParse(value.trim())) throw new ConfigError(`${what} is not a URL: ${value}`);
  const url = new URL(value.trim());
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(`${what} is not an http(s) URL: ${value}`);
  return value.trim();
}

/** The config.json object for an API URL or a parsed outputs file. */
export function configFrom(source, { clientId, appUrl, resource } = {}) {
  const outputs = typeof source === 'string' ? { apiUrl: source } : source;
  const apiUrl = outputs?.apiUrl ?? outputs?.apiBaseUrl;
  if (typeof apiUrl !== 'string') throw new ConfigError('no "apiUrl" string');
  const config = { apiBaseUrl: httpUrl(apiUrl, 'apiUrl').replace(/\/+$/, '') };

  const mode = outputs.authMode ?? 'none';
  if (mode === 'none') return config;
  if (mode !== 'cognito' && mode !== 'jwt') throw new ConfigError(`unknown authMode "${mode}" (none, cognito or jwt)`);
  const issuer = httpUrl(outputs.issuer, 'issuer');
  const id = clientId ?? outputs.clientId;
  if (typeof id !== 'string' || !id.trim()) {
    throw new ConfigError(`authMode "${mode}" needs the app's client id: the outputs have no "clientId"; pass --client-id`);
  }
  const auth = { issuer, clientId: id.trim() };
  const scopes = typeof outputs.scopes === 'string' && outputs.scopes.trim() ? outputs.scopes.trim() : null;
  auth.scope = scopes ?? (mode === 'cognito' ? 'openid email' : 'openid email profile');
  if (appUrl) {
    auth.redirectUri = httpUrl(appUrl, '--app-url');
    auth.postLogoutRedirectUri = auth.redirectUri;
  }
  if (mode === 'cognito') {
    // Cognito's discovery has no end_session_endpoint; its hosted UI signs out at /logout. The app fills
    // in its own URL (or --app-url) and the client id.
    const hostedUi = httpUrl(outputs.hostedUiUrl, 'hostedUiUrl').replace(/\/+$/, '');
    auth.logoutUrl = `${hostedUi}/logout?client_id={{client_id}}&logout_uri={{post_logout_redirect_uri}}`;
  }
  if (resource) auth.resource = resource;
  config.auth = auth;
  return config;
}

function main() {
  const fail = (message) => {
    console.error(`write-config: ${message}`);
    console.error('usage: node scripts/write-config.mjs <apiBaseUrl | outputs.json> [outDir] [--client-id ID] [--app-url URL] [--resource URI]');
    process.exit(2);
  };
  let args;
  try {
    args = parseArgs({
      allowPositionals: true,
      options: { 'client-id': { type: 'string' }, 'app-url': { type: 'string' }, resource: { type: 'string' } },
    });
  } catch (err) {
    fail(err.message);
  }
  const [source, outDirArg = 'www'] = args.positionals;
  if (!source) fail('missing <apiBaseUrl | outputs.json>');

  let input = source;
  if (!/^https?:\/\//i.test(source)) {
    if (!existsSync(source) || !statSync(source).isFile()) fail(`"${source}" is neither an http(s) URL nor a file`);
    try {
      input = JSON.parse(readFileSync(source, 'utf8'));
    } catch (err) {
      fail(`cannot parse ${source}: ${err.message}`);
    }
  }
  let config;
  try {
    config = configFrom(input, {
      clientId: args.values['client-id'] ?? process.env.AUTH_CLIENT_ID,
      appUrl: args.values['app-url'],
      resource: args.values.resource,
    });
  } catch (err) {
    if (err instanceof ConfigError) fail(`${typeof input === 'string' ? input : source}: ${err.message}`);
    throw err;
  }
  const outDir = resolve(outDirArg);
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, 'config.json');
  writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`);
  console.log(`write-config: ${file} -> ${config.apiBaseUrl}${config.auth ? ` (sign-in: ${config.auth.issuer})` : ''}`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) main();
