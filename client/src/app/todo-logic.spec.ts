import {
  compareTodos,
  emptyFormValue,
  formValueToTodo,
  mapServerFieldErrors,
  sortTodos,
  todoToFormValue,
  validateTodoForm,
} from './todo-logic';
import { Todo } from './todo.model';

const t = (id: string, priority: Todo['priority'], dueDate?: string, description = id): Todo =>
  dueDate === undefined ? { id, description, priority } : { id, description, priority, dueDate };

describe('sorting', () => {
  it('orders by due date (none last), then priority high → low', () => {
    const list = [
      t('none-low', 'low'),
      t('none-high', 'high'),
      t('late-normal', 'normal', '2031-01-01'),
      t('early-low', 'low', '2030-01-01'),
      t('early-high', 'high', '2030-01-01'),
      t('early-timed', 'high', '2030-01-01T10:00:00'),
      t('mid-minutes', 'low', '2030-06-01T09:00'),
    ];
    expect(sortTodos(list).map((x) => x.id)).toEqual([
      'early-high',
      'early-low',
      'early-timed',
      'mid-minutes',
      'late-normal',
      'none-high',
      'none-low',
    ]);
  });

  it('treats the three wire shapes of the same instant as equal, then uses priority', () => {
    const a = t('a', 'low', '2030-05-05T10:00:00');
    const b = t('b', 'high', '2030-05-05T10:00');
    expect(compareTodos(a, b)).toBeGreaterThan(0);
  });

  it('is stable for equal keys (description, then id) and does not mutate the input', () => {
    const list = [t('2', 'normal', undefined, 'same'), t('1', 'normal', undefined, 'same'), t('3', 'normal', undefined, 'a')];
    const copy = [...list];
    expect(sortTodos(list).map((x) => x.id)).toEqual(['3', '1', '2']);
    expect(list).toEqual(copy);
  });
});

describe('form value ⇄ todo', () => {
  it('omits dueDate when no date is set', () => {
    const todo = formValueToTodo('id-1', { description: 'x', priority: 'normal', dueDate: '', dueTime: '' });
    expect(todo).toEqual({ id: 'id-1', description: 'x', priority: 'normal' });
    expect('dueDate' in todo).toBe(false);
  });

  it('sends YYYY-MM-DD or YYYY-MM-DDTHH:MM:00', () => {
    expect(formValueToTodo('i', { description: 'x', priority: 'high', dueDate: '2030-03-04', dueTime: '' }).dueDate).toBe('2030-03-04');
    expect(formValueToTodo('i', { description: 'x', priority: 'high', dueDate: '2030-03-04', dueTime: '07:08' }).dueDate).toBe(
      '2030-03-04T07:08:00',
    );
  });

  it('fills the form from each server shape', () => {
    expect(todoToFormValue(t('i', 'low', '2030-03-04'))).toEqual({ description: 'i', priority: 'low', dueDate: '2030-03-04', dueTime: '' });
    expect(todoToFormValue(t('i', 'low', '2030-03-04T05:06')).dueTime).toBe('05:06');
    expect(todoToFormValue(t('i', 'low', '2030-03-04T05:06:07')).dueTime).toBe('05:06');
    expect(todoToFormValue(t('i', 'low'))).toMatchObject({ dueDate: '', dueTime: '' });
  });

  it('defaults a new form to normal priority', () => {
    expect(emptyFormValue().priority).toBe('normal');
  });
});

describe('client validation (mirrors the server)', () => {
  const valid = { description: 'Do it', priority: 'normal' as const, dueDate: '', dueTime: '' };

  it('accepts a minimal valid todo', () => {
    expect(validateTodoForm(valid)).toEqual({});
  });
  it('requires a description (blank counts as missing)', () => {
    expect(validateTodoForm({ ...valid, description: '' }).description).toBe('Description is required');
    expect(validateTodoForm({ ...valid, description: '   ' }).description).toBe('Description is required');
  });
  it('limits the description to 10,000 characters', () => {
    expect(validateTodoForm({ ...valid, description: 'x'.repeat(10_000) })).toEqual({});
    expect(validateTodoForm({ ...valid, description: 'x'.repeat(10_001) }).description).toMatch(/at most 10,000/);
  });
  it('requires a known priority', () => {
    expect(validateTodoForm({ ...valid, priority: 'urgent' as never }).priority).toBeTruthy();
  });
  it('rejects impossible dates and a time without a date', () => {
    expect(validateTodoForm({ ...valid, dueDate: '2030-02-30' }).dueDate).toBeTruthy();
    expect(validateTodoForm({ ...valid, dueDate: '2032-02-29' })).toEqual({});
    expect(validateTodoForm({ ...valid, dueTime: '10:00' }).dueTime).toBe('Set a date to use a time');
    expect(validateTodoForm({ ...valid, dueDate: '2030-01-01', dueTime: '25:00' }).dueTime).toBeTruthy();
  });
});

describe('server fieldErrors mapping', () => {
  it('maps each field to the form control with a readable message', () => {
    const mapped = mapServerFieldErrors({
      description: 'required',
      priority: 'must be one of low, normal, high',
      dueDate: 'must be a real date',
    });
    expect(mapped.fields).toEqual({
      description: 'Description is required',
      priority: 'Priority: must be one of low, normal, high',
      dueDate: 'Due date: must be a real date',
    });
    expect(mapped.other).toEqual([]);
  });

  it('reports fields without a control (id, unknown) separately', () => {
    const mapped = mapServerFieldErrors({ id: 'must be a UUID', extra: 'nope', description: undefined });
    expect(mapped.fields).toEqual({});
    expect(mapped.other).toEqual(['Id: must be a UUID', 'extra: nope']);
  });

  it('copes with a missing object', () => {
    expect(mapServerFieldErrors(null)).toEqual({ fields: {}, other: [] });
  });
});
