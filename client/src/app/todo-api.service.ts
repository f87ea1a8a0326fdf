import { HttpClient, HttpResponse } from '@angular/common/http';
import { Injectable, inject } from '@angular/core';
import { EMPTY, Observable, catchError, expand, map, reduce, throwError } from 'rxjs';
import { ApiError, toApiError } from './api-error';
import { APP_CONFIG } from './app-config';
import { Todo } from './todo.model';

/** Header carrying the cursor of the next page; absent on the last page. */
export const NEXT_CURSOR_HEADER = 'x-next-cursor';
/** Safety net against a server that never stops paginating. */
export const MAX_PAGES = 1000;

interface Page {
  items: Todo[];
  next: string | null;
}

function isTodoLike(value: unknown): value is Todo {
  const t = value as Partial<Todo> | null;
  return !!t && typeof t === 'object' && typeof t.id === 'string' && typeof t.description === 'string';
}

/** Typed client for the todos API. Every error is an {@link ApiError}. */
@Injectable({ providedIn: 'root' })
export class TodoApiService {
  private readonly http = inject(HttpClient);
  private readonly config = inject(APP_CONFIG);

  get baseUrl(): string {
    return this.config.apiBaseUrl.replace(/\/+$/, '');
  }

  /** Loads all todos, following `x-next-cursor` until the last page. */
  list(pageSize: number | undefined = this.config.pageSize): Observable<Todo[]> {
    let pages = 0;
    const seen = new Set<string>();
    return this.fetchPage(null, pageSize).pipe(
      expand((page) => {
        if (page.next === null) return EMPTY;
        pages += 1;
        if (seen.has(page.next) || pages >= MAX_PAGES) {
          return throwError(() => new ApiError('invalid-response', 'The server returned an endless list of pages.'));
        }
        seen.add(page.next);
        return this.fetchPage(page.next, pageSize);
      }),
      reduce((all, page) => all.concat(page.items), [] as Todo[]),
      catchError((err) => throwError(() => toApiError(err))),
    );
  }

  /** Inserts or replaces a todo (server answers 204). */
  save(todo: Todo): Observable<void> {
    return this.http
      .post(`${this.baseUrl}/todos`, todo, { observe: 'response', responseType: 'text' })
      .pipe(
        map(() => undefined),
        catchError((err) => throwError(() => toApiError(err))),
      );
  }

  /** Deletes a todo (204 also when it did not exist). */
  remove(id: string): Observable<void> {
    return this.http
      .delete(`${this.baseUrl}/todos/${encodeURIComponent(id)}`, { observe: 'response', responseType: 'text' })
      .pipe(
        map(() => undefined),
        catchError((err) => throwError(() => toApiError(err))),
      );
  }

  private fetchPage(cursor: string | null, pageSize?: number): Observable<Page> {
    const query: string[] = [];
    if (pageSize !== undefined) query.push(`limit=${encodeURIComponent(String(pageSize))}`);
    if (cursor !== null) query.push(`cursor=${encodeURIComponent(cursor)}`);
    const url = `${this.baseUrl}/todos${query.length ? `?${query.join('&')}` : ''}`;
    return this.http.get<unknown>(url, { observe: 'response' }).pipe(
      map((res: HttpResponse<unknown>) => {
        if (!Array.isArray(res.body)) {
          throw new ApiError('invalid-response', 'The server sent an unexpected response.', res.status);
        }
        const next = res.headers.get(NEXT_CURSOR_HEADER);
        return { items: res.body.filter(isTodoLike), next: next ? next : null };
      }),
    );
  }
}
