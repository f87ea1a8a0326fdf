import { Injectable, Signal, signal } from '@angular/core';

/** Where the app is with sign-in. `off` = mode `none` (no sign-in configured). */
export type AuthState = 'off' | 'starting' | 'signed-out' | 'signed-in' | 'redirecting';

/** Who is signed in, from the ID token. */
export interface AuthUser {
  /** Stable id (`sub`); keys the kept form so it is never handed to someone else. */
  id: string;
  email: string | null;
  name: string | null;
}

/** A failure the signed-out page shows above its Sign in button. */
export interface AuthProblem {
  title: string;
  message: string;
}

/**
 * The sign-in session as the rest of the app sees it. The default is no sign-in (mode `none`); with an
 * `auth` block in config.json, `main.ts` loads the OpenID Connect implementation (`oidc-session.ts`,
 * its own chunk) in its place.
 */
@Injectable({ providedIn: 'root', useFactory: () => new NoAuthSession() })
export abstract class AuthSession {
  abstract readonly enabled: boolean;
  abstract readonly state: Signal<AuthState>;
  abstract readonly user: Signal<AuthUser | null>;
  abstract readonly problem: Signal<AuthProblem | null>;
  /** True right after a sign-out that came back to the app. */
  abstract readonly signedOut: Signal<boolean>;
  /** Finds the issuer and finishes a sign-in coming back from it. */
  abstract start(): Promise<void>;
  /** Sends the person to the issuer's sign-in page (after checking it answers). */
  abstract signIn(): Promise<void>;
  /** Ends the session here and at the issuer. */
  abstract signOut(): Promise<void>;
  /** The access token for an API call, renewed first when it is about to expire; null when there is none. */
  abstract accessToken(): Promise<string | null>;
  /** Renews the access token with the refresh token; false when that failed. */
  abstract renew(): Promise<boolean>;
  /** The API refused the token even after a renewal: keep the open form and sign in again. */
  abstract rejected(): Promise<void>;
  /** The API accepted a call (ends the guard against sign-in loops). */
  abstract accepted(): void;
}

/** Mode `none`: the API is open, nothing to sign in to. */
export class NoAuthSession extends AuthSession {
  readonly enabled = false;
  readonly state = signal<AuthState>('off').asReadonly();
  readonly user = signal<AuthUser | null>(null).asReadonly();
  readonly problem = signal<AuthProblem | null>(null).asReadonly();
  readonly signedOut = signal(false).asReadonly();
  async start(): Promise<void> {}
  async signIn(): Promise<void> {}
  async signOut(): Promise<void> {}
  async accessToken(): Promise<string | null> {
    return null;
  }
  async renew(): Promise<boolean> {
    return false;
  }
  async rejected(): Promise<void> {}
  accepted(): void {}
}
