#!/usr/bin/env node
// A local OpenID Connect provider for development and the e2e suite: the certified `oidc-provider`
// package with a plain sign-in page, two test users and one public client (the app). Not for
// production: keys, sessions and grants live in memory and die with the process.
//
//   node scripts/oidc-provider.mjs [--port 9000] [--host localhost] [--audience urn:todos:api]
//                                  [--client-id todos-app] [--redirect-uri URL]... [--access-token-ttl 300]
//
// Every flag also reads an environment variable: OIDC_PORT, OIDC_HOST, OIDC_AUDIENCE, OIDC_CLIENT_ID,
// OIDC_REDIRECT_URIS (comma-separated, added to the defaults), OIDC_ACCESS_TOKEN_TTL, OIDC_PASSWORD.
// The issuer is http://<host>:<port> (discovery at /.well-known/openid-configuration). It prints one
// line `oidc-provider: ready <issuer>` once it listens, and stops cleanly on SIGINT/SIGTERM.
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import { parseArgs } from 'node:util';
import Provider, { errors } from 'oidc-provider';

const { values: flags } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    audience: { type: 'string' },
    'client-id': { type: 'string' },
    'redirect-uri': { type: 'string', multiple: true },
    'access-token-ttl': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (flags.help) {
  console.log('usage: node scripts/oidc-provider.mjs [--port N] [--host H] [--audience URI] [--client-id ID] [--redirect-uri URL]... [--access-token-ttl SECONDS]');
  process.exit(0);
}

const env = process.env;
const PORT = Number(flags.port ?? env.OIDC_PORT ?? 9000);
const HOST = flags.host ?? env.OIDC_HOST ?? 'localhost';
/** The API's audience: `aud` of every access token, and what the API is started with (`--auth-audience`). */
const AUDIENCE = flags.audience ?? env.OIDC_AUDIENCE ?? 'urn:todos:api';
const CLIENT_ID = flags['client-id'] ?? env.OIDC_CLIENT_ID ?? 'todos-app';
const ACCESS_TOKEN_TTL = Number(flags['access-token-ttl'] ?? env.OIDC_ACCESS_TOKEN_TTL ?? 300);
const PASSWORD = env.OIDC_PASSWORD ?? 'todos-dev-password';
const ISSUER = `http://${HOST}:${PORT}`;

if (!Number.isInteger(PORT) || PORT <= 0 || PORT > 65535) fail(`invalid port: ${PORT}`);
if (!Number.isInteger(ACCESS_TOKEN_TTL) || ACCESS_TOKEN_TTL < 1) fail(`invalid access-token TTL: ${ACCESS_TOKEN_TTL}`);
if (!/^[a-z][a-z0-9+.-]*:/i.test(AUDIENCE)) fail(`the audience must be an absolute URI (e.g. urn:todos:api): ${AUDIENCE}`);

// The app on `ng serve` (make dev) and whatever the caller adds (the e2e's static server).
const appUrls = [
  'http://localhost:8100/',
  'http://localhost:8100',
  ...(flags['redirect-uri'] ?? []),
  ...(env.OIDC_REDIRECT_URIS ?? '').split(',').map((s) => s.trim()).filter(Boolean),
];
for (const url of appUrls) {
  if (!URL.canParse(url)) fail(`invalid redirect URI: ${url}`);
}

/** Test users. `sub` is a fixed id so the API keeps a user's todos across provider restarts. */
const USERS = [
  { sub: '8a1f4c1e-1d9b-4c55-9b3e-a11ce0000001', email: 'alice@example.com', name: 'Alice Example' },
  { sub: '8a1f4c1e-1d9b-4c55-9b3e-b0b000000002', email: 'bob@example.com', name: 'Bob Example' },
];
const userBySub = new Map(USERS.map((u) => [u.sub, u]));
const userByEmail = new Map(USERS.map((u) => [u.email, u]));

function fail(message) {
  console.error(`oidc-provider: ${message}`);
  process.exit(2);
}

// A fresh RS256 signing key per start: nothing secret is committed, and tokens of an earlier run die
// with it.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), use: 'sig', alg: 'RS256' };

const provider = new Provider(ISSUER, {
  clients: [
    {
      client_id: CLIENT_ID,
      client_name: 'Todos',
      application_type: 'web',
      token_endpoint_auth_method: 'none', // public client: no secret, PKCE instead
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: appUrls,
      post_logout_redirect_uris: appUrls,
    },
  ],
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  pkce: { required: () => true },
  // The app calls the token and revocation endpoints from its own origin: allow exactly those origins.
  clientBasedCORS: (_ctx, origin, client) => client.redirectUris.some((uri) => new URL(uri).origin === origin),
  scopes: ['openid', 'email', 'profile', 'offline_access'],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  // The app reads who is signed in from the ID token (its access tokens are for the API, not userinfo).
  conformIdTokenClaims: false,
  findAccount: (_ctx, sub) => {
    const user = userBySub.get(sub);
    if (!user) return undefined;
    return {
      accountId: sub,
      claims: () => ({ sub, email: user.email, email_verified: true, name: user.name }),
    };
  },
  features: {
    devInteractions: { enabled: false }, // our own sign-in page below checks the password
    revocation: { enabled: true },
    rpInitiatedLogout: { enabled: true, logoutSource },
    resourceIndicators: {
      enabled: true,
      // Every access token is for the API, also when the app does not send `resource`.
      defaultResource: () => AUDIENCE,
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx, resource) => {
        if (resource !== AUDIENCE) throw new errors.InvalidTarget();
        return {
          scope: 'todos',
          audience: AUDIENCE,
          accessTokenFormat: 'jwt',
          accessTokenTTL: ACCESS_TOKEN_TTL,
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
  // A public browser client gets a (rotating) refresh token without `offline_access`, which the spec
  // only grants together with a consent prompt.
  issueRefreshToken: (_ctx, client) => client.grantTypeAllowed('refresh_token'),
  ttl: {
    AccessToken: ACCESS_TOKEN_TTL,
    AuthorizationCode: 60,
    IdToken: 3600,
    Interaction: 3600,
    Grant: 14 * 24 * 3600,
    Session: 14 * 24 * 3600,
    RefreshToken: 14 * 24 * 3600,
  },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  renderError: (ctx, out) => {
    ctx.type = 'html';
    ctx.body = page('Sign-in error', `<h1>Something went wrong</h1><p>${escape(out.error)}: ${escape(out.error_description ?? '')}</p>`);
  },
});
provider.on('server_error', (_ctx, err) => console.error('oidc-provider: server error', err));

// --- the sign-in page ----------------------------------------------------------------------------

function escape(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

function page(title, body) {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)}</title>
<style>
  body { font-family: system-ui, sans-serif; background: #f4f5f8; margin: 0; padding: 48px 16px; color: #222; }
  main { max-width: 360px; margin: 0 auto; background: #fff; border-radius: 8px; padding: 24px; box-shadow: 0 1px 4px rgba(0,0,0,.15); }
  h1 { font-size: 1.4rem; margin: 0 0 8px; }
  p { line-height: 1.4; }
  label { display: block; font-weight: 600; margin: 16px 0 4px; }
  input { width: 100%; box-sizing: border-box; font-size: 1rem; padding: 10px; border: 1px solid #999; border-radius: 4px; }
  button { margin-top: 20px; width: 100%; font-size: 1rem; padding: 12px; border: 0; border-radius: 4px; background: #3880ff; color: #fff; cursor: pointer; }
  .error { color: #b00020; font-weight: 600; }
  .cancel { display: block; text-align: center; margin-top: 16px; color: #3880ff; }
  .hint { color: #555; font-size: .9rem; }
</style></head><body><main>${body}</main></body></html>`;
}

function loginPage(uid, clientName, { email = '', error = '' } = {}) {
  return page(
    'Sign in · local OpenID provider',
    `<h1>Sign in</h1>
<p>to <strong>${escape(clientName)}</strong> with the local OpenID provider.</p>
${error ? `<p class="error" role="alert">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login" autocomplete="off">
  <label for="email">Email</label>
  <input id="email" name="email" type="email" required autofocus value="${escape(email)}">
  <label for="password">Password</label>
  <input id="password" name="password" type="password" required>
  <button type="submit">Sign in</button>
</form>
<a class="cancel" href="/interaction/${escape(uid)}/abort">Cancel</a>
<p class="hint">Test users: ${USERS.map((u) => escape(u.email)).join(', ')} (password printed by the provider at start).</p>`,
  );
}

async function logoutSource(ctx, form) {
  // Sign-out is always what the app asked for: submit the provider's confirmation form right away.
  ctx.body = page(
    'Signing out',
    `<h1>Signing out…</h1>${form}
<input type="hidden" form="op.logoutForm" name="logout" value="yes">
<button type="submit" form="op.logoutForm">Continue</button>
<script>document.forms['op.logoutForm'].submit();</script>`,
  );
}

async function readForm(req) {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 10_000) throw new Error('form too large');
  }
  return new URLSearchParams(body);
}

function send(res, status, html) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(html);
}

/** Grants what the app asked for: it is the only client and first-party, so there is no consent page. */
async function consent(req, res, details) {
  const { prompt, params, session, grantId } = details;
  const grant = grantId
    ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
  if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(prompt.details.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  const saved = await grant.save();
  await provider.interactionFinished(req, res, { consent: grantId ? {} : { grantId: saved } }, { mergeWithLastSubmission: true });
}

/** /interaction/:uid (GET), /interaction/:uid/login (POST), /interaction/:uid/abort (GET). */
async function interaction(req, res, [, uid, action]) {
  let details;
  try {
    details = await provider.interactionDetails(req, res);
  } catch {
    send(res, 400, page('Sign-in expired', '<h1>This sign-in has expired</h1><p>Go back to the app and sign in again.</p>'));
    return;
  }
  if (details.uid !== uid) {
    send(res, 400, page('Sign-in expired', '<h1>This sign-in has expired</h1><p>Go back to the app and sign in again.</p>'));
    return;
  }
  const client = await provider.Client.find(details.params.client_id);
  const clientName = client?.clientName ?? details.params.client_id;

  if (action === 'abort' && req.method === 'GET') {
    await provider.interactionFinished(
      req,
      res,
      { error: 'access_denied', error_description: 'The person cancelled the sign-in' },
      { mergeWithLastSubmission: false },
    );
    return;
  }
  if (action === 'login' && req.method === 'POST') {
    const form = await readForm(req);
    const email = (form.get('email') ?? '').trim().toLowerCase();
    const user = userByEmail.get(email);
    if (!user || form.get('password') !== PASSWORD) {
      send(res, 401, loginPage(uid, clientName, { email, error: 'Wrong email or password.' }));
      return;
    }
    await provider.interactionFinished(req, res, { login: { accountId: user.sub } }, { mergeWithLastSubmission: false });
    return;
  }
  if (action === undefined && req.method === 'GET') {
    if (details.prompt.name === 'consent') {
      await consent(req, res, details);
      return;
    }
    send(res, 200, loginPage(uid, clientName));
    return;
  }
  send(res, 405, page('Not allowed', '<h1>Method not allowed</h1>'));
}

const oidc = provider.callback();
async function handle(req, res) {
  const path = new URL(req.url, ISSUER).pathname;
  const match = /^\/interaction\/([^/]+)(?:\/(login|abort))?\/?$/.exec(path);
  if (!match) return oidc(req, res);
  try {
    await interaction(req, res, match);
  } catch (err) {
    console.error('oidc-provider: interaction failed', err);
    if (!res.headersSent) send(res, 500, page('Error', '<h1>Something went wrong</h1>'));
  }
}

// Listen on both loopback addresses `localhost` may resolve to (the browser and the API each pick one).
const servers = [];
async function listen(host, required) {
  const server = http.createServer(handle);
  try {
    await new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(PORT, host, resolve);
    });
    servers.push(server);
  } catch (err) {
    if (required) fail(`cannot listen on ${host}:${PORT}: ${err.message}`);
  }
}
if (HOST === 'localhost') {
  await listen('127.0.0.1', true);
  await listen('::1', false);
} else {
  await listen(HOST, true);
}

function stop() {
  for (const server of servers) {
    server.close();
    server.closeAllConnections();
  }
  process.exit(0);
}
process.once('SIGINT', stop);
process.once('SIGTERM', stop);

console.log(`oidc-provider: ready ${ISSUER}`);
console.log(`  discovery      ${ISSUER}/.well-known/openid-configuration`);
console.log(`  client id      ${CLIENT_ID} (public, code flow + PKCE)   audience ${AUDIENCE}   access tokens ${ACCESS_TOKEN_TTL} s`);
console.log(`  test users     ${USERS.map((u) => u.email).join(', ')}   password: ${PASSWORD}`);
