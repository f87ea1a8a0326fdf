import { dueDateSortKey, isValidDate, isValidTime, parseDueDate, toWireDueDate } from './due-date';
import { DESCRIPTION_MAX_LENGTH, FieldErrors, Priority, Todo, isPriority } from './todo.model';

const PRIORITY_RANK: Record<Priority, number> = { high: 0, normal: 1, low: 2 };

/** Due date ascending (none last), then priority (high first), then description, then id. */
export function compareTodos(a: Todo, b: Todo): number {
  const ka = dueDateSortKey(a.dueDate);
  const kb = dueDateSortKey(b.dueDate);
  if (ka !== kb) {
    if (ka === null) return 1;
    if (kb === null) return -1;
    return ka < kb ? -1 : 1;
  }
  const pa = PRIORITY_RANK[a.priority] ?? 3;
  const pb = PRIORITY_RANK[b.priority] ?? 3;
  if (pa !== pb) return pa - pb;
  const byText = a.description.localeCompare(b.description);
  if (byText !== 0) return byText;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export function sortTodos(todos: readonly Todo[]): Todo[] {
  return [...todos].sort(compareTodos);
}

/** The values of the add/edit form. */
export interface TodoFormValue {
  description: string;
  priority: Priority;
  /** `YYYY-MM-DD` or '' */
  dueDate: string;
  /** `HH:MM` or '' */
  dueTime: string;
}

/** Form field names; server `dueDate` errors are shown on the `dueDate` control. */
export type FormField = keyof TodoFormValue;

export function emptyFormValue(): TodoFormValue {
  return { description: '', priority: 'normal', dueDate: '', dueTime: '' };
}

export function todoToFormValue(todo: Todo): TodoFormValue {
  const due = parseDueDate(todo.dueDate);
  return {
    description: todo.description,
    priority: isPriority(todo.priority) ? todo.priority : 'normal',
    dueDate: due?.date ?? '',
    dueTime: due?.time ?? '',
  };
}

export function formValueToTodo(id: string, value: TodoFormValue): Todo {
  const todo: Todo = { id, description: value.description, priority: value.priority };
  const dueDate = toWireDueDate(value.dueDate, value.dueTime);
  if (dueDate !== undefined) todo.dueDate = dueDate;
  return todo;
}

/** Client-side validation mirroring the server's rules. Returns an empty object when valid. */
export function validateTodoForm(value: TodoFormValue): Partial<Record<FormField, string>> {
  const errors: Partial<Record<FormField, string>> = {};
  if (!value.description || value.description.trim() === '') {
    errors.description = 'Description is required';
  } else if (value.description.length > DESCRIPTION_MAX_LENGTH) {
    errors.description = `Description must be at most ${DESCRIPTION_MAX_LENGTH.toLocaleString('en-US')} characters`;
  }
  if (!isPriority(value.priority)) {
    errors.priority = 'Priority must be low, normal or high';
  }
  if (value.dueDate && !isValidDate(value.dueDate)) {
    errors.dueDate = 'Enter a real date (YYYY-MM-DD)';
  }
  if (value.dueTime) {
    if (!value.dueDate) errors.dueTime = 'Set a date to use a time';
    else if (!isValidTime(value.dueTime)) errors.dueTime = 'Enter a valid time (HH:MM)';
  }
  return errors;
}

export interface MappedFieldErrors {
  /** Messages per form field. */
  fields: Partial<Record<FormField, string>>;
  /** Messages for fields the form does not show (e.g. `id`), as "field: message". */
  other: string[];
}

function humanize(field: string, message: string): string {
  const label: Record<string, string> = {
    description: 'Description',
    priority: 'Priority',
    dueDate: 'Due date',
    id: 'Id',
  };
  const name = label[field] ?? field;
  if (message === 'required') return `${name} is required`;
  return `${name}: ${message}`;
}

/** Maps a server 422 `fieldErrors` object onto the form's fields. */
export function mapServerFieldErrors(fieldErrors: FieldErrors | null | undefined): MappedFieldErrors {
  const result: MappedFieldErrors = { fields: {}, other: [] };
  for (const [field, message] of Object.entries(fieldErrors ?? {})) {
    if (typeof message !== 'string' || !message) continue;
    if (field === 'description' || field === 'priority' || field === 'dueDate') {
      result.fields[field] = humanize(field, message);
    } else {
      result.other.push(humanize(field, message));
    }
  }
  return result;
}
