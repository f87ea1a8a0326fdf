import { Injectable } from '@angular/core';
import { TodoFormValue } from '../todo-logic';
import { Todo } from '../todo.model';

/** The todo form as it was when the session ended: what was being edited (or null for a new todo), its id and the values typed. */
export interface TodoDraft {
  editing: Todo | null;
  id: string;
  value: TodoFormValue;
}

const KEY = 'todos.draft';

/**
 * Keeps the open todo form across a trip to the sign-in page: the form registers a snapshot function,
 * the session writes the snapshot to sessionStorage (this tab only) before it leaves, and the list page
 * takes it back after sign-in. A draft only comes back to the same user.
 */
@Injectable({ providedIn: 'root' })
export class DraftKeeper {
  private snapshot: (() => TodoDraft) | null = null;
  private readonly storage: Storage | null = typeof sessionStorage === 'undefined' ? null : sessionStorage;

  /** Registers the open form; returns the function that unregisters it. */
  track(snapshot: () => TodoDraft): () => void {
    this.snapshot = snapshot;
    return () => {
      if (this.snapshot === snapshot) this.snapshot = null;
    };
  }

  /** Writes the open form (if any) for `owner`. */
  keep(owner: string | null): void {
    const draft = this.snapshot?.();
    if (!draft || !this.storage) return;
    try {
      this.storage.setItem(KEY, JSON.stringify({ owner, draft }));
    } catch {
      // Storage full or disabled: the draft is lost, sign-in still works.
    }
  }

  /** Removes and returns the kept draft when it belongs to `owner`. */
  take(owner: string | null): TodoDraft | null {
    if (!this.storage) return null;
    const raw = this.storage.getItem(KEY);
    if (raw === null) return null;
    this.storage.removeItem(KEY);
    try {
      const { owner: keptFor, draft } = JSON.parse(raw) as { owner: string | null; draft: TodoDraft };
      if (keptFor !== owner || !draft || typeof draft.id !== 'string' || !draft.value) return null;
      return draft;
    } catch {
      return null;
    }
  }
}
