import { HttpErrorResponse } from '@angular/common/http';
import { FieldErrors } from './todo.model';

export type ApiErrorKind =
  | 'network' // status 0: server down, DNS, CORS refusal, offline
  | 'validation' // 422 with fieldErrors
  | 'bad-request' // 400
  | 'unauthorized' // 401: no or no longer valid sign-in
  | 'too-large' // 413
  | 'unavailable' // 503
  | 'server' // other 5xx
  | 'http' // any other status
  | 'invalid-response'; // 2xx with an unexpected body

/** A failed API call, in terms the UI can show. */
export class ApiError extends Error {
  constructor(
    readonly kind: ApiErrorKind,
    message: string,
    readonly status = 0,
    readonly fieldErrors: FieldErrors | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

function bodyMessage(body: unknown): string | null {
  if (body && typeof body === 'object' && typeof (body as { message?: unknown }).message === 'string') {
    const m = (body as { message: string }).message.trim();
    return m || null;
  }
  if (typeof body === 'string') {
    try {
      return bodyMessage(JSON.parse(body));
    } catch {
      return null;
    }
  }
  return null;
}

function bodyFieldErrors(body: unknown): FieldErrors | null {
  let value = body;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return null;
    }
  }
  const fe = (value as { fieldErrors?: unknown } | null)?.fieldErrors;
  if (!fe || typeof fe !== 'object' || Array.isArray(fe)) return null;
  const out: FieldErrors = {};
  for (const [k, v] of Object.entries(fe)) {
    if (typeof v === 'string') out[k] = v;
  }
  return out;
}

/** Converts anything thrown by HttpClient (or our own checks) into an ApiError. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof HttpErrorResponse) {
    const status = err.status;
    const msg = bodyMessage(err.error);
    if (status === 0) {
      return new ApiError('network', 'Cannot reach the server. Check your connection and try again.', 0);
    }
    if (status === 422) {
      const fieldErrors = bodyFieldErrors(err.error);
      return new ApiError('validation', msg ?? 'Please correct the highlighted fields.', status, fieldErrors ?? {});
    }
    if (status === 400) return new ApiError('bad-request', msg ?? 'The server rejected the request (400).', status);
    if (status === 401) return new ApiError('unauthorized', 'Your sign-in has expired or was not accepted (401).', status);
    if (status === 413) return new ApiError('too-large', msg ?? 'The todo is too large to save.', status);
    if (status === 503) {
      return new ApiError('unavailable', msg ?? 'The service is temporarily unavailable (503).', status);
    }
    if (status >= 500) return new ApiError('server', msg ?? `The server had a problem (${status}).`, status);
    return new ApiError('http', msg ?? `Request failed (${status}).`, status);
  }
  const message = err instanceof Error ? err.message : String(err);
  return new ApiError('network', message || 'Unexpected error', 0);
}
