import { HttpErrorResponse } from '@angular/common/http';
import {
  EnvironmentProviders,
  Injectable,
  InjectionToken,
  NgZone,
  inject,
  makeEnvironmentProviders,
  provideAppInitializer,
  signal,
} from '@angular/core';
import { OAuthErrorEvent, OAuthService, provideOAuthClient } from 'angular-oauth2-oidc';
import { AuthSettings } from '../app-config';
import { Notifier } from '../notifier';
import { AuthProblem, AuthSession, AuthState, AuthUser } from './auth-session';
import { DraftKeeper } from './drafts';

/** The `auth` block of config.json. */
export const AUTH_SETTINGS = new InjectionToken<AuthSettings>('AUTH_SETTINGS');

/** Renew when less than this much of the access token's life is left (and never later than 15 s before). */
const RENEW_AT = 0.75;
const RENEW_MARGIN_MS = 15_000;
/** sessionStorage keys of this tab (the tokens themselves are the library's, in its own keys). */
const SIGNED_OUT_KEY = 'todos.auth.signed-out';
const REJECTED_KEY = 'todos.auth.rejected';

function describe(err: unknown): string {
  if (err instanceof HttpErrorResponse) {
    if (err.status === 0) return 'The sign-in service cannot be reached.';
    const body = err.error as { error?: unknown; error_description?: unknown } | null;
    if (body && typeof body.error_description === 'string') return body.error_description;
    if (body && typeof body.error === 'string') return `${body.error} (${err.status})`;
    return `The sign-in service answered ${err.status}.`;
  }
  if (err instanceof OAuthErrorEvent) {
    const params = err.params as { error?: string; error_description?: string } | null;
    if (params?.error_description) return params.error_description;
    if (params?.error) return params.error;
    if (err.type === 'invalid_nonce_in_state') return 'The answer from the sign-in service did not match this tab. Please sign in again.';
    return err.type;
  }
  return err instanceof Error ? err.message : String(err);
}

/**
 * The library takes `code` and `state` out of the address; the rest of an authorization response
 * (`iss` of RFC 9207, `error...`) would stay and come back on reload.
 */
function forgetResponseParams(): void {
  const url = new URL(location.href);
  const names = ['iss', 'error', 'error_description', 'error_uri'];
  if (!names.some((n) => url.searchParams.has(n))) return;
  for (const n of names) url.searchParams.delete(n);
  history.replaceState(history.state, '', url.href);
}

const unreachable = (issuer: string): AuthProblem => ({
  title: "Can't reach the sign-in service",
  message: `${issuer} does not answer. Check your connection (or that the sign-in service runs), then try again.`,
});

/**
 * Sign-in with OpenID Connect (authorization code flow + PKCE, public client) through
 * angular-oauth2-oidc: it builds the requests, keeps the tokens (sessionStorage of this tab) and
 * refreshes them with the refresh token. This class decides when, and turns every failure into
 * something the person sees and can retry.
 */
@Injectable()
export class OidcSession extends AuthSession {
  readonly enabled = true;
  private readonly oauth = inject(OAuthService);
  private readonly settings = inject(AUTH_SETTINGS);
  private readonly drafts = inject(DraftKeeper);
  private readonly notifier = inject(Notifier);
  private readonly zone = inject(NgZone);

  readonly state = signal<AuthState>('starting');
  readonly user = signal<AuthUser | null>(null);
  readonly problem = signal<AuthProblem | null>(null);
  readonly signedOut = signal(false);

  private discovered = false;
  private renewing: Promise<boolean> | null = null;
  private renewTimer: ReturnType<typeof setTimeout> | undefined;

  constructor() {
    super();
    const here = `${location.origin}${location.pathname}`;
    const afterLogout = this.settings.postLogoutRedirectUri ?? here;
    this.oauth.configure({
      issuer: this.settings.issuer,
      clientId: this.settings.clientId,
      responseType: 'code',
      scope: this.settings.scope,
      redirectUri: this.settings.redirectUri ?? here,
      postLogoutRedirectUri: afterLogout,
      // A configured logout URL (Cognito's /logout) may name where to return; the library fills in {{client_id}}.
      logoutUrl: this.settings.logoutUrl?.replace('{{post_logout_redirect_uri}}', encodeURIComponent(afterLogout)),
      customQueryParams: this.settings.resource ? { resource: this.settings.resource } : undefined,
      // Refresh tokens, not a hidden iframe; the renewal is scheduled here (one at a time, see renew()).
      useSilentRefresh: false,
      sessionChecksEnabled: false,
      // config.json parsing already allows plain http only on loopback (the library knows only `localhost`).
      requireHttps: false,
      // Cognito's discovery names endpoints on its hosted-UI domain, not under the issuer.
      strictDiscoveryDocumentValidation: false,
      clearHashAfterLogin: true,
    });
  }

  async start(): Promise<void> {
    this.state.set('starting');
    this.problem.set(null);
    this.signedOut.set(sessionStorage.getItem(SIGNED_OUT_KEY) !== null);
    sessionStorage.removeItem(SIGNED_OUT_KEY);
    if (!(await this.discover())) {
      // Tokens from before still work with the API until they expire.
      if (this.oauth.hasValidAccessToken()) this.signedIn();
      else this.signOutLocally(unreachable(this.settings.issuer));
      return;
    }
    try {
      await this.oauth.tryLoginCodeFlow();
    } catch (err) {
      forgetResponseParams();
      const cancelled = err instanceof OAuthErrorEvent && (err.params as { error?: string } | null)?.error === 'access_denied';
      this.signOutLocally(
        cancelled
          ? { title: 'Sign-in cancelled', message: 'You did not finish signing in. Sign in to see your todos.' }
          : { title: "Couldn't sign you in", message: describe(err) },
      );
      return;
    }
    forgetResponseParams();
    if (this.oauth.hasValidAccessToken()) {
      this.signedIn();
    } else if (this.oauth.getRefreshToken() && (await this.renew())) {
      this.signedIn();
    } else {
      this.signOutLocally(null);
    }
  }

  async signIn(): Promise<void> {
    if (this.state() === 'redirecting') return;
    this.problem.set(null);
    this.state.set('redirecting');
    // Check the issuer answers before leaving the app: an unreachable issuer is shown here, not as a browser error page.
    if (!(await this.discover(true))) {
      this.state.set('signed-out');
      this.problem.set(unreachable(this.settings.issuer));
      return;
    }
    this.oauth.initCodeFlow();
  }

  async signOut(): Promise<void> {
    this.state.set('redirecting');
    this.clearRenewTimer();
    sessionStorage.removeItem(REJECTED_KEY);
    const reachable = await this.discover(true);
    if (!reachable || !this.oauth.logoutUrl) {
      this.oauth.logOut(true); // forget the tokens here; nothing to end at the issuer
      this.signOutLocally(
        reachable
          ? null
          : { title: 'Signed out of this app', message: "The sign-in service could not be reached to end its session; it may still remember you." },
      );
      this.signedOut.set(reachable);
      return;
    }
    sessionStorage.setItem(SIGNED_OUT_KEY, '1');
    if (this.oauth.revocationEndpoint) {
      // Revoke the refresh token too; sign-out goes on if that fails.
      await this.oauth.revokeTokenAndLogout().catch(() => this.oauth.logOut());
    } else {
      this.oauth.logOut();
    }
  }

  async accessToken(): Promise<string | null> {
    const token = this.oauth.getAccessToken();
    if (token && this.oauth.getAccessTokenExpiration() - Date.now() < RENEW_MARGIN_MS && this.oauth.getRefreshToken()) {
      await this.renew();
    }
    return this.oauth.getAccessToken() || null;
  }

  /** One renewal at a time: refresh tokens rotate, and a second use of the old one would revoke the session. */
  renew(): Promise<boolean> {
    this.renewing ??= this.renewOnce().finally(() => (this.renewing = null));
    return this.renewing;
  }

  async rejected(): Promise<void> {
    if (this.state() === 'redirecting') return;
    if (sessionStorage.getItem(REJECTED_KEY) !== null) {
      // Signed in again a moment ago and the API still refuses: do not loop through the issuer.
      await this.notifier.error(
        'The API does not accept your sign-in (401). It may expect another issuer or audience. Sign out and in again, or contact whoever runs it.',
        () => void this.signOut(),
        'Sign out',
      );
      return;
    }
    sessionStorage.setItem(REJECTED_KEY, String(Date.now()));
    this.drafts.keep(this.user()?.id ?? null);
    await this.signIn();
  }

  accepted(): void {
    if (sessionStorage.getItem(REJECTED_KEY) !== null) sessionStorage.removeItem(REJECTED_KEY);
  }

  private async renewOnce(): Promise<boolean> {
    if (!this.oauth.getRefreshToken()) return false;
    if (!(await this.discover())) {
      await this.renewFailed(unreachable(this.settings.issuer).message);
      return false;
    }
    try {
      await this.oauth.refreshToken();
    } catch (err) {
      const ended = err instanceof HttpErrorResponse && err.status === 400;
      await this.renewFailed(ended ? 'Your session has ended.' : describe(err), ended);
      return false;
    }
    this.readUser();
    this.scheduleRenewal();
    return true;
  }

  private async renewFailed(reason: string, ended = false): Promise<void> {
    if (this.state() !== 'signed-in') return;
    if (ended) {
      // Nothing to retry: the next API call answers 401 and leads to sign-in (keeping the open form).
      await this.notifier.error(`${reason} Sign in again to go on.`, () => void this.rejected(), 'Sign in');
    } else {
      await this.notifier.error(`Couldn't renew your sign-in. ${reason}`, () => void this.renew());
    }
  }

  private async discover(again = false): Promise<boolean> {
    if (this.discovered && !again) return true;
    try {
      await this.oauth.loadDiscoveryDocument();
      this.discovered = true;
      return true;
    } catch {
      return false;
    }
  }

  private signedIn(): void {
    this.readUser();
    this.problem.set(null);
    this.signedOut.set(false);
    this.state.set('signed-in');
    this.scheduleRenewal();
  }

  private signOutLocally(problem: AuthProblem | null): void {
    this.clearRenewTimer();
    this.user.set(null);
    this.problem.set(problem);
    this.state.set('signed-out');
  }

  private readUser(): void {
    const claims = this.oauth.getIdentityClaims() as { sub?: unknown; email?: unknown; name?: unknown } | null;
    if (!claims || typeof claims.sub !== 'string') return;
    this.user.set({
      id: claims.sub,
      email: typeof claims.email === 'string' ? claims.email : null,
      name: typeof claims.name === 'string' ? claims.name : null,
    });
  }

  private scheduleRenewal(): void {
    this.clearRenewTimer();
    const expires = this.oauth.getAccessTokenExpiration();
    if (!expires || !this.oauth.getRefreshToken()) return;
    const now = Date.now();
    const at = Math.min(now + (expires - now) * RENEW_AT, expires - RENEW_MARGIN_MS);
    this.zone.runOutsideAngular(() => {
      this.renewTimer = setTimeout(() => void this.renew(), Math.max(0, at - Date.now()));
    });
  }

  private clearRenewTimer(): void {
    if (this.renewTimer !== undefined) clearTimeout(this.renewTimer);
    this.renewTimer = undefined;
  }
}

/** The providers that replace mode `none` with OpenID Connect sign-in. */
export function provideOidcSession(settings: AuthSettings): EnvironmentProviders {
  return makeEnvironmentProviders([
    provideOAuthClient(),
    { provide: AUTH_SETTINGS, useValue: settings },
    { provide: AuthSession, useClass: OidcSession },
    provideAppInitializer(() => {
      void inject(AuthSession).start();
    }),
  ]);
}
