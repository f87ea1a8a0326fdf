import { Injectable, computed, inject, signal } from '@angular/core';
import { firstValueFrom } from 'rxjs';
import { ApiError, toApiError } from './api-error';
import { TodoApiService } from './todo-api.service';
import { sortTodos } from './todo-logic';
import { Todo } from './todo.model';

/**
 * Holds the list as last confirmed by the server. Nothing is shown as saved before the server
 * answered 2xx: a write changes the list only after that answer (the page then reloads the list).
 */
@Injectable({ providedIn: 'root' })
export class TodoStore {
  private readonly api = inject(TodoApiService);
  private readonly items = signal<Todo[]>([]);
  private loadSeq = 0;

  readonly todos = computed(() => sortTodos(this.items()));
  readonly loading = signal(false);
  /** True once a load has succeeded. */
  readonly loaded = signal(false);
  readonly loadError = signal<ApiError | null>(null);

  /** Reloads the whole list; rejects with an ApiError on failure (the previous list stays). */
  async refresh(): Promise<void> {
    const seq = ++this.loadSeq;
    this.loading.set(true);
    try {
      const todos = await firstValueFrom(this.api.list());
      if (seq === this.loadSeq) {
        this.items.set(todos);
        this.loaded.set(true);
        this.loadError.set(null);
      }
    } catch (err) {
      const apiErr = toApiError(err);
      if (seq === this.loadSeq) this.loadError.set(apiErr);
      throw apiErr;
    } finally {
      if (seq === this.loadSeq) this.loading.set(false);
    }
  }

  /** POSTs the todo; once the server accepted it, puts it in the list. Rejects with an ApiError. */
  async save(todo: Todo): Promise<void> {
    await firstValueFrom(this.api.save(todo));
    this.loadSeq++; // a load that started before this write must not overwrite it
    this.loading.set(false);
    this.items.update((list) => [...list.filter((t) => t.id !== todo.id), todo]);
  }

  /** DELETEs the todo; once the server accepted it, removes it from the list. Rejects with an ApiError. */
  async remove(id: string): Promise<void> {
    await firstValueFrom(this.api.remove(id));
    this.loadSeq++;
    this.loading.set(false);
    this.items.update((list) => list.filter((t) => t.id !== id));
  }
}
