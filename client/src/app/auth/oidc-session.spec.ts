import { HttpErrorResponse } from '@angular/common/http';
import { TestBed } from '@angular/core/testing';
import { OAuthErrorEvent, OAuthService } from 'angular-oauth2-oidc';
import { Notifier } from '../notifier';
import { AuthSession } from './auth-session';
import { DraftKeeper } from './drafts';
import { AUTH_SETTINGS, OidcSession } from './oidc-session';

const SETTINGS = { issuer: 'http://localhost:9000', clientId: 'todos-app', scope: 'openid email profile' };
const ALICE = { sub: 'alice-id', email: 'alice@example.com', name: 'Alice' };

/** Stands in for angular-oauth2-oidc: each test says what the issuer does. */
function fakeOAuth() {
  return {
    configure: vi.fn(),
    loadDiscoveryDocument: vi.fn(async () => ({})),
    tryLoginCodeFlow: vi.fn(async () => undefined),
    hasValidAccessToken: vi.fn(() => false),
    getAccessToken: vi.fn(() => ''),
    getAccessTokenExpiration: vi.fn(() => Date.now() + 300_000),
    getRefreshToken: vi.fn(() => ''),
    refreshToken: vi.fn(async () => ({})),
    getIdentityClaims: vi.fn(() => ALICE),
    initCodeFlow: vi.fn(),
    logOut: vi.fn(),
    revokeTokenAndLogout: vi.fn(async () => undefined),
    logoutUrl: 'http://localhost:9000/session/end',
    revocationEndpoint: 'http://localhost:9000/token/revocation',
  };
}

function setup(oauth = fakeOAuth()) {
  const notifier = { error: vi.fn(async () => undefined), info: vi.fn(async () => undefined), clear: vi.fn(async () => undefined) };
  TestBed.configureTestingModule({
    providers: [
      { provide: OAuthService, useValue: oauth },
      { provide: AUTH_SETTINGS, useValue: SETTINGS },
      { provide: Notifier, useValue: notifier },
      { provide: AuthSession, useClass: OidcSession },
    ],
  });
  return { session: TestBed.inject(AuthSession) as OidcSession, oauth, notifier };
}

describe('OidcSession (what decides between the list and the sign-in page)', () => {
  beforeEach(() => sessionStorage.clear());

  it('configures the code flow with PKCE as a public client, coming back to the app', () => {
    const { oauth } = setup();
    expect(oauth.configure).toHaveBeenCalledWith(
      expect.objectContaining({ issuer: SETTINGS.issuer, clientId: 'todos-app', responseType: 'code', useSilentRefresh: false }),
    );
    expect(oauth.configure.mock.calls[0][0]).not.toHaveProperty('dummyClientSecret');
  });

  it('shows the list only with a valid access token, and who is signed in', async () => {
    const { session, oauth } = setup();
    oauth.hasValidAccessToken.mockReturnValue(true);
    oauth.getAccessToken.mockReturnValue('at');
    await session.start();
    expect(session.state()).toBe('signed-in');
    expect(session.user()).toEqual({ id: 'alice-id', email: 'alice@example.com', name: 'Alice' });
  });

  it('is signed out (with the Sign in button, no problem) without tokens', async () => {
    const { session } = setup();
    await session.start();
    expect(session.state()).toBe('signed-out');
    expect(session.problem()).toBeNull();
  });

  it('says so when the issuer cannot be reached, and does not leave the app to sign in', async () => {
    const { session, oauth } = setup();
    oauth.loadDiscoveryDocument.mockRejectedValue(new HttpErrorResponse({ status: 0 }));
    await session.start();
    expect(session.state()).toBe('signed-out');
    expect(session.problem()?.title).toMatch(/Can't reach the sign-in service/);
    await session.signIn();
    expect(oauth.initCodeFlow).not.toHaveBeenCalled();
    expect(session.problem()?.title).toMatch(/Can't reach/);
    oauth.loadDiscoveryDocument.mockResolvedValue({});
    await session.signIn();
    expect(oauth.initCodeFlow).toHaveBeenCalledTimes(1);
  });

  it('reports a cancelled sign-in and a failed one', async () => {
    const cancelled = setup();
    cancelled.oauth.tryLoginCodeFlow.mockRejectedValue(new OAuthErrorEvent('code_error', {}, { error: 'access_denied' }));
    await cancelled.session.start();
    expect(cancelled.session.problem()?.title).toBe('Sign-in cancelled');

    TestBed.resetTestingModule();
    const failed = setup();
    failed.oauth.tryLoginCodeFlow.mockRejectedValue(
      new HttpErrorResponse({ status: 400, error: { error: 'invalid_grant', error_description: 'grant request is invalid' } }),
    );
    await failed.session.start();
    expect(failed.session.state()).toBe('signed-out');
    expect(failed.session.problem()).toEqual({ title: "Couldn't sign you in", message: 'grant request is invalid' });
  });

  it('renews with the refresh token when the access token ran out while away', async () => {
    const { session, oauth } = setup();
    oauth.getRefreshToken.mockReturnValue('rt');
    await session.start();
    expect(oauth.refreshToken).toHaveBeenCalledTimes(1);
    expect(session.state()).toBe('signed-in');
  });

  it('renews one at a time (refresh tokens rotate)', async () => {
    const { session, oauth } = setup();
    oauth.getRefreshToken.mockReturnValue('rt');
    let finish!: () => void;
    oauth.refreshToken.mockImplementation(() => new Promise((r) => (finish = () => r({}))));
    const a = session.renew();
    const b = session.renew();
    await Promise.resolve();
    await Promise.resolve();
    finish();
    expect(await a).toBe(true);
    expect(await b).toBe(true);
    expect(oauth.refreshToken).toHaveBeenCalledTimes(1);
  });

  it('a rejected session keeps the open form and signs in again, but does not loop', async () => {
    const { session, oauth } = setup();
    oauth.hasValidAccessToken.mockReturnValue(true);
    await session.start();
    const drafts = TestBed.inject(DraftKeeper);
    const draft = { editing: null, id: 'n1', value: { description: 'typed', priority: 'normal' as const, dueDate: '', dueTime: '' } };
    drafts.track(() => draft);

    await session.rejected();
    expect(oauth.initCodeFlow).toHaveBeenCalledTimes(1);
    expect(drafts.take('alice-id')).toEqual(draft);

    // Back from the issuer, the API still answers 401: say so instead of another round trip.
    TestBed.resetTestingModule();
    const again = setup();
    again.oauth.hasValidAccessToken.mockReturnValue(true);
    await again.session.start();
    await again.session.rejected();
    expect(again.oauth.initCodeFlow).not.toHaveBeenCalled();
    expect(again.notifier.error).toHaveBeenCalledWith(expect.stringMatching(/does not accept your sign-in/), expect.any(Function), 'Sign out');

    // One accepted call ends the guard.
    again.session.accepted();
    await again.session.rejected();
    expect(again.oauth.initCodeFlow).toHaveBeenCalledTimes(1);
  });

  it('signs out at the issuer (revoking the refresh token) and says so when back', async () => {
    const { session, oauth } = setup();
    oauth.hasValidAccessToken.mockReturnValue(true);
    await session.start();
    await session.signOut();
    expect(oauth.revokeTokenAndLogout).toHaveBeenCalledTimes(1);

    TestBed.resetTestingModule();
    const back = setup();
    await back.session.start();
    expect(back.session.state()).toBe('signed-out');
    expect(back.session.signedOut()).toBe(true);
  });

  it('signs out locally when the issuer cannot be reached', async () => {
    const { session, oauth } = setup();
    oauth.hasValidAccessToken.mockReturnValue(true);
    await session.start();
    oauth.loadDiscoveryDocument.mockRejectedValue(new HttpErrorResponse({ status: 0 }));
    await session.signOut();
    expect(oauth.logOut).toHaveBeenCalledWith(true);
    expect(session.state()).toBe('signed-out');
    expect(session.problem()?.title).toBe('Signed out of this app');
  });
});
