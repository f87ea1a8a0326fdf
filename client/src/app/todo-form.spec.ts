import { TestBed } from '@angular/core/testing';
import { ModalController } from '@ionic/angular/modal-controller';
import { ApiError } from './api-error';
import { DraftKeeper, TodoDraft } from './auth/drafts';
import { Notifier } from './notifier';
import { TodoFormComponent } from './todo-form';
import { TodoStore } from './todo-store';
import { Todo } from './todo.model';

function setup(todo?: Todo, draft?: TodoDraft) {
  const store = { save: vi.fn<(t: Todo) => Promise<void>>(async () => undefined) };
  const modal = { dismiss: vi.fn(async () => true) };
  const notifier = { error: vi.fn(async () => undefined), info: vi.fn(async () => undefined), clear: vi.fn(async () => undefined) };
  TestBed.configureTestingModule({
    providers: [
      { provide: TodoStore, useValue: store },
      { provide: ModalController, useValue: modal },
      { provide: Notifier, useValue: notifier },
    ],
  });
  const fixture = TestBed.createComponent(TodoFormComponent);
  if (todo) fixture.componentRef.setInput('todo', todo);
  if (draft) fixture.componentRef.setInput('draft', draft);
  fixture.detectChanges();
  const component = fixture.componentInstance;
  const errorText = (selector: string) =>
    (fixture.nativeElement as HTMLElement).querySelector(selector)?.getAttribute('error-text') ??
    ((fixture.nativeElement as HTMLElement).querySelector(selector) as unknown as { errorText?: string } | null)?.errorText ??
    '';
  return { fixture, component, store, modal, notifier, errorText };
}

describe('TodoFormComponent', () => {
  it('does not POST when client validation fails, and shows the error at the field', async () => {
    const { component, store, fixture, errorText } = setup();
    await component.submit();
    fixture.detectChanges();
    expect(store.save).not.toHaveBeenCalled();
    expect(errorText('ion-textarea')).toBe('Description is required');
  });

  it('POSTs a new todo with a v4 UUID, default priority and the wire due date, then closes', async () => {
    const { component, store, modal } = setup();
    component.form.setValue({ description: 'Pay rent', priority: 'normal', dueDate: '2030-05-01', dueTime: '08:15' });
    await component.submit();
    expect(store.save).toHaveBeenCalledTimes(1);
    const sent = store.save.mock.calls[0][0];
    expect(sent).toMatchObject({ description: 'Pay rent', priority: 'normal', dueDate: '2030-05-01T08:15:00' });
    expect(sent.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(modal.dismiss).toHaveBeenCalledWith(sent, 'saved');
  });

  it('edits keep the id and omit dueDate when it was cleared', async () => {
    const existing: Todo = { id: '6f1c9a52-0000-4000-8000-000000000001', description: 'Old', priority: 'high', dueDate: '2030-01-01T10:00:00' };
    const { component, store } = setup(existing);
    expect(component.form.getRawValue()).toEqual({ description: 'Old', priority: 'high', dueDate: '2030-01-01', dueTime: '10:00' });
    component.form.controls.dueDate.setValue('');
    expect(component.form.controls.dueTime.disabled).toBe(true);
    await component.submit();
    expect(store.save.mock.calls[0][0]).toEqual({ id: existing.id, description: 'Old', priority: 'high' });
  });

  it('shows a server 422 at the matching fields and keeps the form open', async () => {
    const { component, store, modal, fixture, errorText } = setup();
    store.save.mockRejectedValueOnce(
      new ApiError('validation', 'invalid', 422, { dueDate: 'must be a real date', id: 'must be a UUID' }),
    );
    component.form.setValue({ description: 'x', priority: 'low', dueDate: '2030-05-01', dueTime: '' });
    await component.submit();
    fixture.detectChanges();
    expect(modal.dismiss).not.toHaveBeenCalled();
    expect(errorText('ion-input.due-date-field')).toBe('Due date: must be a real date');
    expect(component.form.controls.dueDate.hasError('server')).toBe(true);
    expect((fixture.nativeElement as HTMLElement).querySelector('[role="alert"]')?.textContent).toContain('Id: must be a UUID');
    // Editing the field clears the server message.
    component.form.controls.dueDate.setValue('2030-05-02');
    fixture.detectChanges();
    expect(errorText('ion-input.due-date-field')).toBe('');
  });

  it('offers Retry in a toast for other failures', async () => {
    const { component, store, notifier, modal } = setup();
    store.save.mockRejectedValueOnce(new ApiError('network', 'Cannot reach the server.', 0));
    component.form.setValue({ description: 'x', priority: 'low', dueDate: '', dueTime: '' });
    await component.submit();
    expect(notifier.error).toHaveBeenCalledTimes(1);
    const [message, retry] = notifier.error.mock.calls[0] as unknown as [string, () => void];
    expect(message).toContain('Cannot reach the server.');
    expect(modal.dismiss).not.toHaveBeenCalled();
    retry();
    await new Promise((r) => setTimeout(r, 0));
    expect(store.save).toHaveBeenCalledTimes(2);
    expect(modal.dismiss).toHaveBeenCalledWith(expect.objectContaining({ description: 'x' }), 'saved');
  });

  it('lets the session keep what was typed, and comes back from a kept draft with the same id', async () => {
    sessionStorage.clear();
    const existing: Todo = { id: '6f1c9a52-0000-4000-8000-000000000002', description: 'Old', priority: 'low' };
    const first = setup(existing);
    first.component.form.controls.description.setValue('Half-typed change');
    const keeper = TestBed.inject(DraftKeeper);
    keeper.keep('alice');
    first.fixture.destroy();
    keeper.keep('alice'); // the form is gone: nothing new is kept
    const draft = keeper.take('alice');
    expect(draft).toEqual({
      editing: existing,
      id: existing.id,
      value: { description: 'Half-typed change', priority: 'low', dueDate: '', dueTime: '' },
    });

    TestBed.resetTestingModule();
    const again = setup(existing, draft!);
    expect(again.component.form.getRawValue().description).toBe('Half-typed change');
    await again.component.submit();
    expect(again.store.save).toHaveBeenCalledWith({ id: existing.id, description: 'Half-typed change', priority: 'low' });
  });
});
