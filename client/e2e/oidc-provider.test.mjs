// The local OpenID provider (scripts/oidc-provider.mjs) over plain HTTP, without a browser: discovery,
// the sign-in page's password check, code flow with PKCE, the JWT access token the API checks,
// refresh, revocation and sign-out.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { OIDC, freePort, startOidcProvider } from './support.mjs';

const REDIRECT = 'http://127.0.0.1:5555/';
let op;

function b64url(buf) {
  return Buffer.from(buf).toString('base64url');
}
function claimsOf(jwt) {
  const [header, payload] = jwt.split('.');
  return { header: JSON.parse(Buffer.from(header, 'base64url')), payload: JSON.parse(Buffer.from(payload, 'base64url')) };
}

/** A cookie jar good enough for one host. */
class Browser {
  cookies = new Map();
  async fetch(url, init = {}) {
    const headers = { ...(init.headers ?? {}), cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ') };
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const i = pair.indexOf('=');
      this.cookies.set(pair.slice(0, i), pair.slice(i + 1));
    }
    return res;
  }
  /** Follows redirects on the provider; stops at (and returns) the first response elsewhere or not a redirect. */
  async follow(url, init) {
    let res = await this.fetch(url, init);
    for (let i = 0; i < 10 && res.status >= 300 && res.status < 400; i++) {
      const next = new URL(res.headers.get('location'), url).href;
      if (!next.startsWith(op.issuer)) return { res, location: next };
      url = next;
      res = await this.fetch(url);
    }
    return { res, location: url };
  }
}

async function signIn(browser, email, password) {
  const verifier = b64url(randomBytes(32));
  const challenge = b64url(createHash('sha256').update(verifier).digest());
  const state = b64url(randomBytes(8));
  const auth = new URL(`${op.issuer}/auth`);
  auth.search = new URLSearchParams({
    client_id: OIDC.clientId,
    response_type: 'code',
    scope: 'openid email profile',
    redirect_uri: REDIRECT,
    state,
    nonce: 'n1',
    code_challenge: challenge,
    code_challenge_method: 'S256',
  });
  const { res: loginPage, location: loginUrl } = await browser.follow(auth.href);
  assert.equal(loginPage.status, 200);
  const html = await loginPage.text();
  assert.match(html, /<form method="post" action="\/interaction\/[^"]+\/login"/);
  const action = new URL(/action="([^"]+)"/.exec(html)[1], loginUrl).href;
  const post = (pw) =>
    browser.follow(action, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ email, password: pw }).toString(),
    });
  return { post, verifier, state, action };
}

async function token(params) {
  const res = await fetch(`${op.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://127.0.0.1:5555' },
    body: new URLSearchParams({ client_id: OIDC.clientId, ...params }).toString(),
  });
  return { status: res.status, body: await res.json(), cors: res.headers.get('access-control-allow-origin') };
}

describe('local OpenID provider', { timeout: 60_000 }, () => {
  before(async () => {
    op = await startOidcProvider({ port: await freePort(), redirectUris: [REDIRECT], accessTokenTtl: 120 });
  });
  after(async () => {
    await op?.stop();
  });

  test('publishes discovery with code flow, PKCE S256, JWKS, revocation and end_session', async () => {
    const doc = await (await fetch(`${op.issuer}/.well-known/openid-configuration`)).json();
    assert.equal(doc.issuer, op.issuer);
    assert.ok(doc.response_types_supported.includes('code'));
    assert.deepEqual(doc.code_challenge_methods_supported, ['S256']);
    assert.ok(doc.end_session_endpoint && doc.revocation_endpoint && doc.jwks_uri);
    const jwks = await (await fetch(doc.jwks_uri)).json();
    assert.equal(jwks.keys[0].kty, 'RSA');
    assert.equal(jwks.keys[0].d, undefined, 'no private part published');
  });

  test('refuses a wrong password, then signs alice in and issues RS256 JWT access tokens for the API', async () => {
    const browser = new Browser();
    const flow = await signIn(browser, 'alice@example.com', 'wrong');
    const { res: refused } = await flow.post('wrong');
    assert.equal(refused.status, 401);
    assert.match(await refused.text(), /Wrong email or password/);

    const { location } = await flow.post(OIDC.password);
    const back = new URL(location);
    assert.equal(back.origin + back.pathname, REDIRECT);
    assert.equal(back.searchParams.get('state'), flow.state);
    const code = back.searchParams.get('code');
    assert.ok(code, `code in ${location}`);

    const noVerifier = await token({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT });
    assert.equal(noVerifier.status, 400, 'PKCE is required');

    const browser2 = new Browser();
    const again = await signIn(browser2, 'alice@example.com', OIDC.password);
    const { location: loc2 } = await again.post(OIDC.password);
    const code2 = new URL(loc2).searchParams.get('code');
    const tokens = await token({ grant_type: 'authorization_code', code: code2, redirect_uri: REDIRECT, code_verifier: again.verifier });
    assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
    assert.equal(tokens.cors, 'http://127.0.0.1:5555', 'the app may call the token endpoint from its origin');
    const at = claimsOf(tokens.body.access_token);
    assert.equal(at.header.alg, 'RS256');
    assert.equal(at.payload.iss, op.issuer);
    assert.equal(at.payload.aud, OIDC.audience);
    assert.equal(at.payload.sub, '8a1f4c1e-1d9b-4c55-9b3e-a11ce0000001');
    assert.ok(at.payload.exp - at.payload.iat <= 120);
    const id = claimsOf(tokens.body.id_token).payload;
    assert.equal(id.email, 'alice@example.com');
    assert.equal(id.name, 'Alice Example');
    assert.ok(tokens.body.refresh_token, 'a refresh token for the browser app');

    const refreshed = await token({ grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token });
    assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
    assert.equal(claimsOf(refreshed.body.access_token).payload.aud, OIDC.audience);
    assert.notEqual(refreshed.body.refresh_token, tokens.body.refresh_token, 'refresh tokens rotate');

    const revoke = await fetch(`${op.issuer}/token/revocation`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: OIDC.clientId, token: refreshed.body.refresh_token }).toString(),
    });
    assert.equal(revoke.status, 200);
    const afterRevoke = await token({ grant_type: 'refresh_token', refresh_token: refreshed.body.refresh_token });
    assert.equal(afterRevoke.status, 400);
    assert.equal(afterRevoke.body.error, 'invalid_grant');

    // Sign-out ends the provider session and returns to the app.
    const end = new URL(`${op.issuer}/session/end`);
    end.search = new URLSearchParams({ id_token_hint: tokens.body.id_token, post_logout_redirect_uri: REDIRECT });
    const { res: confirm, location: confirmUrl } = await browser2.follow(end.href);
    const confirmHtml = await confirm.text();
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(confirmHtml)[1];
    const formAction = new URL(/action="([^"]+)"/.exec(confirmHtml)[1], confirmUrl).href;
    const { location: loggedOut } = await browser2.follow(formAction, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ xsrf, logout: 'yes' }).toString(),
    });
    assert.equal(loggedOut, REDIRECT);
  });

  test('cancel on the sign-in page returns access_denied to the app', async () => {
    const browser = new Browser();
    const flow = await signIn(browser, 'bob@example.com', OIDC.password);
    const { location } = await browser.follow(flow.action.replace(/\/login$/, '/abort'));
    const back = new URL(location);
    assert.equal(back.searchParams.get('error'), 'access_denied');
    assert.equal(back.searchParams.get('state'), flow.state);
  });
});
