import { TestBed } from '@angular/core/testing';
import { DraftKeeper, TodoDraft } from './drafts';

const draft: TodoDraft = {
  editing: { id: 'a', description: 'Old', priority: 'low' },
  id: 'a',
  value: { description: 'Half-typed', priority: 'high', dueDate: '2030-01-01', dueTime: '' },
};

describe('DraftKeeper', () => {
  beforeEach(() => sessionStorage.clear());

  it('keeps the open form and gives it back once, to the same user', () => {
    const keeper = TestBed.inject(DraftKeeper);
    keeper.track(() => draft);
    keeper.keep('alice');
    expect(TestBed.inject(DraftKeeper)).toBe(keeper);
    expect(keeper.take('alice')).toEqual(draft);
    expect(keeper.take('alice')).toBeNull();
  });

  it('never hands a draft to another user', () => {
    const keeper = TestBed.inject(DraftKeeper);
    keeper.track(() => draft);
    keeper.keep('alice');
    expect(keeper.take('bob')).toBeNull();
    expect(keeper.take('alice')).toBeNull(); // dropped, not left for later
  });

  it('keeps nothing when no form is open', () => {
    const keeper = TestBed.inject(DraftKeeper);
    const untrack = keeper.track(() => draft);
    untrack();
    keeper.keep('alice');
    expect(keeper.take('alice')).toBeNull();
  });

  it('ignores a corrupt stored draft', () => {
    sessionStorage.setItem('todos.draft', '{oops');
    expect(TestBed.inject(DraftKeeper).take('alice')).toBeNull();
  });
});
