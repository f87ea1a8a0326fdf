/** Wire and domain types for the todos API (`/v1/todos`). */

export const PRIORITIES = ['low', 'normal', 'high'] as const;
export type Priority = (typeof PRIORITIES)[number];

/** A todo as the API sends and receives it. `dueDate` is omitted when unset. */
export interface Todo {
  id: string;
  description: string;
  priority: Priority;
  /** `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM` or `YYYY-MM-DDTHH:MM:SS` (local, no zone). */
  dueDate?: string;
}

/** Field names the server may report in a 422 `fieldErrors` object. */
export type TodoField = 'id' | 'description' | 'priority' | 'dueDate';
export type FieldErrors = Partial<Record<TodoField, string>> & Record<string, string | undefined>;

export const DESCRIPTION_MAX_LENGTH = 10_000;

export function isPriority(value: unknown): value is Priority {
  return typeof value === 'string' && (PRIORITIES as readonly string[]).includes(value);
}
