import {
  ChangeDetectionStrategy,
  Component,
  DestroyRef,
  ElementRef,
  Injector,
  OnInit,
  afterNextRender,
  inject,
  input,
  signal,
  viewChild,
} from '@angular/core';
import { takeUntilDestroyed } from '@angular/core/rxjs-interop';
import { AbstractControl, FormControl, FormGroup, ReactiveFormsModule, ValidationErrors } from '@angular/forms';
import { IonButton } from '@ionic/angular/ion-button';
import { IonButtons } from '@ionic/angular/ion-buttons';
import { IonContent } from '@ionic/angular/ion-content';
import { IonHeader } from '@ionic/angular/ion-header';
import { IonInput } from '@ionic/angular/ion-input';
import { IonSelect } from '@ionic/angular/ion-select';
import { IonSelectOption } from '@ionic/angular/ion-select-option';
import { IonSpinner } from '@ionic/angular/ion-spinner';
import { IonText } from '@ionic/angular/ion-text';
import { IonTextarea } from '@ionic/angular/ion-textarea';
import { IonTitle } from '@ionic/angular/ion-title';
import { IonToolbar } from '@ionic/angular/ion-toolbar';
import { ModalController } from '@ionic/angular/modal-controller';
import { toApiError } from './api-error';
import { DraftKeeper, TodoDraft } from './auth/drafts';
import { Notifier } from './notifier';
import {
  FormField,
  TodoFormValue,
  emptyFormValue,
  formValueToTodo,
  mapServerFieldErrors,
  todoToFormValue,
  validateTodoForm,
} from './todo-logic';
import { TodoStore } from './todo-store';
import { DESCRIPTION_MAX_LENGTH, PRIORITIES, Priority, Todo } from './todo.model';

/** Angular validator wrapping the shared rules for one field. */
function fieldValidator(field: FormField) {
  return (control: AbstractControl): ValidationErrors | null => {
    const parent = control.parent;
    const value: TodoFormValue = { ...emptyFormValue(), ...(parent?.getRawValue() ?? {}), [field]: control.value ?? '' };
    const message = validateTodoForm(value)[field];
    return message ? { rule: message } : null;
  };
}

/** UUID v4 from the platform; falls back to getRandomValues where randomUUID is missing (non-secure contexts). */
export function newId(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

@Component({
  selector: 'app-todo-form',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [
    ReactiveFormsModule,
    IonButton,
    IonButtons,
    IonContent,
    IonHeader,
    IonInput,
    IonSelect,
    IonSelectOption,
    IonSpinner,
    IonText,
    IonTextarea,
    IonTitle,
    IonToolbar,
  ],
  styles: `
    form {
      display: flex;
      flex-direction: column;
      gap: 20px;
      max-width: 640px;
      margin: 0 auto;
    }
    .row {
      display: flex;
      gap: 12px;
      flex-wrap: wrap;
    }
    .row > * {
      flex: 1 1 180px;
    }
    .general-error {
      margin: 0;
    }
  `,
  template: `
    <ion-header>
      <ion-toolbar>
        <ion-buttons slot="start">
          <ion-button (click)="cancel()">Cancel</ion-button>
        </ion-buttons>
        <ion-title>{{ todo() ? 'Edit todo' : 'New todo' }}</ion-title>
      </ion-toolbar>
    </ion-header>
    <ion-content class="ion-padding">
      <form [formGroup]="form" (ngSubmit)="submit()" novalidate aria-label="Todo">
        @if (generalError(); as msg) {
          <ion-text color="danger" role="alert"><p class="general-error">{{ msg }}</p></ion-text>
        }
        <ion-textarea
          formControlName="description"
          label="Description"
          labelPlacement="stacked"
          fill="outline"
          placeholder="What needs doing?"
          [autoGrow]="true"
          [rows]="3"
          [counter]="true"
          [maxlength]="maxLength"
          [required]="true"
          #descriptionField
          [errorText]="errorFor('description')"
          class="description-field"
        />
        <ion-select
          formControlName="priority"
          label="Priority"
          labelPlacement="stacked"
          fill="outline"
          interface="popover"
          [errorText]="errorFor('priority')"
          class="priority-field"
        >
          @for (p of priorities; track p) {
            <ion-select-option [value]="p">{{ priorityLabel(p) }}</ion-select-option>
          }
        </ion-select>
        <div class="row">
          <ion-input
            type="date"
            formControlName="dueDate"
            label="Due date (optional)"
            labelPlacement="stacked"
            fill="outline"
            [errorText]="errorFor('dueDate')"
            class="due-date-field"
          />
          <ion-input
            type="time"
            formControlName="dueTime"
            label="Time (optional)"
            labelPlacement="stacked"
            fill="outline"
            [helperText]="form.controls.dueDate.value ? '' : 'Set a date first'"
            [errorText]="errorFor('dueTime')"
            class="due-time-field"
          />
        </div>
        <ion-button type="submit" expand="block" [disabled]="saving()" class="save">
          @if (saving()) {
            <ion-spinner name="dots" aria-hidden="true" />
            <span>Saving…</span>
          } @else {
            Save
          }
        </ion-button>
      </form>
    </ion-content>
  `,
})
export class TodoFormComponent implements OnInit {
  /** The todo to edit; undefined to add a new one. */
  readonly todo = input<Todo | undefined>(undefined);
  /** The form as it was before a sign-in interrupted it (restores id and values). */
  readonly draft = input<TodoDraft | undefined>(undefined);

  private readonly store = inject(TodoStore);
  private readonly drafts = inject(DraftKeeper);
  private readonly modal = inject(ModalController);
  private readonly notifier = inject(Notifier);
  private readonly injector = inject(Injector);
  private readonly destroyRef = inject(DestroyRef);
  private readonly host = inject<ElementRef<HTMLElement>>(ElementRef);
  private readonly descriptionField = viewChild.required<IonTextarea>('descriptionField');

  protected readonly maxLength = DESCRIPTION_MAX_LENGTH;
  protected readonly priorities = PRIORITIES;
  protected readonly saving = signal(false);
  /** Server messages per field (from a 422); cleared when the field is edited. */
  protected readonly serverErrors = signal<Partial<Record<FormField, string>>>({});
  protected readonly generalError = signal<string | null>(null);
  /** Bumped to re-render error texts after validation state changes outside a template event. */
  private readonly revision = signal(0);

  readonly form = new FormGroup({
    description: new FormControl('', { nonNullable: true, validators: fieldValidator('description') }),
    priority: new FormControl<Priority>('normal', { nonNullable: true, validators: fieldValidator('priority') }),
    dueDate: new FormControl('', { nonNullable: true, validators: fieldValidator('dueDate') }),
    dueTime: new FormControl({ value: '', disabled: true }, { nonNullable: true, validators: fieldValidator('dueTime') }),
  });

  private id = newId();

  ngOnInit(): void {
    const todo = this.todo();
    if (todo) {
      this.id = todo.id;
      this.form.setValue(todoToFormValue(todo));
    }
    const draft = this.draft();
    if (draft) {
      this.id = draft.id;
      this.form.setValue({ ...emptyFormValue(), ...draft.value });
    }
    this.syncTimeEnabled();
    // If the session ends while this form is open, what was typed survives the trip to sign-in.
    const untrack = this.drafts.track(() => ({ editing: this.todo() ?? null, id: this.id, value: this.form.getRawValue() }));
    this.destroyRef.onDestroy(untrack);
    // Put the caret in the description once the modal is on screen (keyboard users start typing).
    const modalEl = this.host.nativeElement.closest('ion-modal');
    const focus = () => void this.descriptionField().setFocus();
    modalEl?.addEventListener('ionModalDidPresent', focus, { once: true });
    this.destroyRef.onDestroy(() => modalEl?.removeEventListener('ionModalDidPresent', focus));
    this.form.controls.dueDate.valueChanges.pipe(takeUntilDestroyed(this.destroyRef)).subscribe(() => this.syncTimeEnabled());
    for (const name of Object.keys(this.form.controls) as FormField[]) {
      (this.form.controls[name] as AbstractControl).valueChanges.pipe(takeUntilDestroyed(this.destroyRef)).subscribe(() => {
        if (this.serverErrors()[name]) {
          this.serverErrors.update(({ [name]: _removed, ...rest }) => rest);
        }
        this.revision.update((n) => n + 1);
      });
    }
  }

  protected priorityLabel(p: Priority): string {
    return p.charAt(0).toUpperCase() + p.slice(1);
  }

  /** The message shown under a field: the server's, else the client rule's once touched. */
  protected errorFor(field: FormField): string {
    this.revision();
    const server = this.serverErrors()[field];
    if (server) return server;
    const control = this.form.controls[field];
    const rule = control.errors?.['rule'];
    return control.touched && typeof rule === 'string' ? rule : '';
  }

  async submit(): Promise<void> {
    if (this.saving()) return;
    this.generalError.set(null);
    this.form.markAllAsTouched();
    this.revision.update((n) => n + 1);
    if (this.form.invalid) {
      this.refreshIonicClasses();
      return;
    }
    const todo = formValueToTodo(this.id, this.form.getRawValue());
    this.saving.set(true);
    try {
      await this.store.save(todo);
    } catch (err) {
      const apiErr = toApiError(err);
      this.saving.set(false);
      if (apiErr.kind === 'validation') {
        this.showServerErrors(apiErr.fieldErrors ?? {});
      } else {
        await this.notifier.error(`Couldn't save the todo. ${apiErr.message}`, () => void this.submit());
      }
      return;
    }
    this.saving.set(false);
    await this.modal.dismiss(todo, 'saved');
  }

  cancel(): void {
    void this.modal.dismiss(null, 'cancel');
  }

  private showServerErrors(fieldErrors: Record<string, string | undefined>): void {
    const mapped = mapServerFieldErrors(fieldErrors);
    this.serverErrors.set(mapped.fields);
    const other = [...mapped.other];
    for (const [field, message] of Object.entries(mapped.fields) as [FormField, string][]) {
      const control = this.form.controls[field];
      control.setErrors({ ...(control.errors ?? {}), server: message });
      control.markAsTouched();
    }
    if (other.length || Object.keys(mapped.fields).length === 0) {
      other.unshift('The server rejected the todo.');
    }
    this.generalError.set(other.length ? other.join(' ') : null);
    this.refreshIonicClasses();
  }

  /**
   * Ionic mirrors Angular's ng-invalid/ng-touched classes to ion-invalid/ion-touched (which make
   * `errorText` visible) in a frame callback. Re-run it after the next render so the classes match.
   */
  private refreshIonicClasses(): void {
    afterNextRender(
      () => {
        for (const control of Object.values(this.form.controls)) control.markAsTouched();
      },
      { injector: this.injector },
    );
  }

  private syncTimeEnabled(): void {
    const time = this.form.controls.dueTime;
    if (this.form.controls.dueDate.value) {
      if (time.disabled) time.enable({ emitEvent: false });
    } else if (time.enabled || time.value) {
      time.setValue('', { emitEvent: false });
      time.disable({ emitEvent: false });
    }
  }
}
