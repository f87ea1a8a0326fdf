import { HttpErrorResponse, HttpInterceptorFn, HttpRequest, HttpResponse } from '@angular/common/http';
import { inject } from '@angular/core';
import { catchError, from, switchMap, tap, throwError } from 'rxjs';
import { APP_CONFIG } from '../app-config';
import { AuthSession } from './auth-session';

/**
 * True when `url` is under the API base URL: same origin and a path at or below the base path. Only
 * these requests carry the access token (never the issuer's, never any other origin's).
 */
export function isApiUrl(url: string, apiBaseUrl: string): boolean {
  if (!URL.canParse(url) || !URL.canParse(apiBaseUrl)) return false;
  const target = new URL(url);
  const base = new URL(apiBaseUrl);
  if (target.origin !== base.origin) return false;
  const basePath = base.pathname.replace(/\/+$/, '');
  return target.pathname === basePath || target.pathname.startsWith(`${basePath}/`);
}

function withToken(req: HttpRequest<unknown>, token: string | null): HttpRequest<unknown> {
  return token ? req.clone({ setHeaders: { Authorization: `Bearer ${token}` } }) : req;
}

const isUnauthorized = (err: unknown) => err instanceof HttpErrorResponse && err.status === 401;

/**
 * Adds `Authorization: Bearer` to API calls. A 401 gets one renewal and one retry (the token may have
 * expired while the tab slept); a second 401 hands over to the session, which keeps the open form and
 * sends the person to sign-in. The error still reaches the caller.
 */
export const apiAuthInterceptor: HttpInterceptorFn = (req, next) => {
  const session = inject(AuthSession);
  const config = inject(APP_CONFIG);
  if (!session.enabled || !isApiUrl(req.url, config.apiBaseUrl)) return next(req);
  const send = () => from(session.accessToken()).pipe(switchMap((token) => next(withToken(req, token))));
  return send().pipe(
    catchError((err) => {
      if (!isUnauthorized(err)) return throwError(() => err);
      return from(session.renew()).pipe(
        switchMap((renewed) => (renewed ? send() : throwError(() => err))),
        catchError((again) => {
          if (isUnauthorized(again)) void session.rejected();
          return throwError(() => again);
        }),
      );
    }),
    tap((event) => {
      if (event instanceof HttpResponse) session.accepted();
    }),
  );
};
