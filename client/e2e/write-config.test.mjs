// scripts/write-config.mjs: deploy outputs -> the app's config.json.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { configFrom } from '../scripts/write-config.mjs';

const script = resolve(dirname(fileURLToPath(import.meta.url)), '../scripts/write-config.mjs');
const API = 'https://abc.execute-api.eu-west-1.amazonaws.com/v1';

describe('write-config', () => {
  test('an API URL or an outputs file without auth keys is mode none', () => {
    assert.deepEqual(configFrom(`${API}/`), { apiBaseUrl: API });
    assert.deepEqual(configFrom({ apiUrl: API }), { apiBaseUrl: API });
    assert.deepEqual(configFrom({ apiUrl: API, authMode: 'none', issuer: 'ignored' }), { apiBaseUrl: API });
  });

  test('cognito: issuer, client id, scopes and the hosted UI sign-out', () => {
    const config = configFrom({
      apiUrl: API,
      authMode: 'cognito',
      issuer: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc',
      clientId: '4s1abc',
      audience: '4s1abc',
      scopes: 'openid email',
      hostedUiUrl: 'https://todos-dev.auth.eu-west-1.amazoncognito.com/',
    });
    assert.deepEqual(config.auth, {
      issuer: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc',
      clientId: '4s1abc',
      scope: 'openid email',
      logoutUrl: 'https://todos-dev.auth.eu-west-1.amazoncognito.com/logout?client_id={{client_id}}&logout_uri={{post_logout_redirect_uri}}',
    });
  });

  test('jwt: the client id comes from the outputs or --client-id; --app-url and --resource when asked', () => {
    const outputs = { apiUrl: API, authMode: 'jwt', issuer: 'https://idp.example/', audience: 'urn:todos:api' };
    assert.throws(() => configFrom(outputs), /--client-id/);
    assert.deepEqual(configFrom(outputs, { clientId: 'spa', appUrl: 'https://app.example/', resource: 'urn:todos:api' }).auth, {
      issuer: 'https://idp.example/',
      clientId: 'spa',
      scope: 'openid email profile',
      redirectUri: 'https://app.example/',
      postLogoutRedirectUri: 'https://app.example/',
      resource: 'urn:todos:api',
    });
    assert.throws(() => configFrom({ ...outputs, authMode: 'saml' }), /unknown authMode/);
    assert.throws(() => configFrom({ ...outputs, issuer: undefined }, { clientId: 'spa' }), /issuer/);
  });

  test('the script writes config.json from an outputs file, and fails clearly', () => {
    const dir = mkdtempSync(join(tmpdir(), 'write-config-'));
    try {
      const outputs = join(dir, 'outputs.json');
      writeFileSync(outputs, JSON.stringify({ apiUrl: API, authMode: 'jwt', issuer: 'https://idp.example', clientId: 'spa' }));
      execFileSync(process.execPath, [script, outputs, join(dir, 'www')], { stdio: 'pipe' });
      const written = JSON.parse(readFileSync(join(dir, 'www', 'config.json'), 'utf8'));
      assert.equal(written.auth.clientId, 'spa');
      writeFileSync(outputs, JSON.stringify({ apiUrl: API, authMode: 'jwt', issuer: 'https://idp.example' }));
      assert.throws(
        () => execFileSync(process.execPath, [script, outputs, join(dir, 'www')], { stdio: 'pipe' }),
        (err) => err.status === 2 && /--client-id/.test(err.stderr.toString()),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
