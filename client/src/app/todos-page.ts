import { ChangeDetectionStrategy, Component, LOCALE_ID, inject } from '@angular/core';
import { IonBadge } from '@ionic/angular/ion-badge';
import { IonButton } from '@ionic/angular/ion-button';
import { IonButtons } from '@ionic/angular/ion-buttons';
import { IonContent } from '@ionic/angular/ion-content';
import { IonFab } from '@ionic/angular/ion-fab';
import { IonFabButton } from '@ionic/angular/ion-fab-button';
import { IonHeader } from '@ionic/angular/ion-header';
import { IonIcon } from '@ionic/angular/ion-icon';
import { IonItem } from '@ionic/angular/ion-item';
import { IonItemOption } from '@ionic/angular/ion-item-option';
import { IonItemOptions } from '@ionic/angular/ion-item-options';
import { IonItemSliding } from '@ionic/angular/ion-item-sliding';
import { IonLabel } from '@ionic/angular/ion-label';
import { IonList } from '@ionic/angular/ion-list';
import { IonProgressBar } from '@ionic/angular/ion-progress-bar';
import { IonRefresher } from '@ionic/angular/ion-refresher';
import { IonRefresherContent } from '@ionic/angular/ion-refresher-content';
import { IonSpinner } from '@ionic/angular/ion-spinner';
import { IonText } from '@ionic/angular/ion-text';
import { IonTitle } from '@ionic/angular/ion-title';
import { IonToolbar } from '@ionic/angular/ion-toolbar';
import { ModalController } from '@ionic/angular/modal-controller';
import type { RefresherCustomEvent } from '@ionic/angular';
import { toApiError } from './api-error';
import { AuthSession } from './auth/auth-session';
import { DraftKeeper, TodoDraft } from './auth/drafts';
import { formatDueDate } from './due-date';
import { Notifier } from './notifier';
import { TodoFormComponent } from './todo-form';
import { TodoStore } from './todo-store';
import { Priority, Todo } from './todo.model';

const PRIORITY_COLOR: Record<Priority, string> = { high: 'danger', normal: 'primary', low: 'medium' };

@Component({
  selector: 'app-todos-page',
  changeDetection: ChangeDetectionStrategy.OnPush,
  host: { class: 'ion-page' },
  imports: [
    IonBadge,
    IonButton,
    IonButtons,
    IonContent,
    IonFab,
    IonFabButton,
    IonHeader,
    IonIcon,
    IonItem,
    IonItemOption,
    IonItemOptions,
    IonItemSliding,
    IonLabel,
    IonList,
    IonProgressBar,
    IonRefresher,
    IonRefresherContent,
    IonSpinner,
    IonText,
    IonTitle,
    IonToolbar,
  ],
  styles: `
    .state {
      display: flex;
      flex-direction: column;
      align-items: center;
      gap: 12px;
      padding: 48px 16px;
      text-align: center;
    }
    .description {
      white-space: pre-wrap;
      overflow-wrap: anywhere;
      display: -webkit-box;
      -webkit-line-clamp: 3;
      -webkit-box-orient: vertical;
      overflow: hidden;
    }
    ion-badge {
      text-transform: capitalize;
      min-width: 4.5em;
    }
    ion-list {
      padding-bottom: 88px;
    }
    .who {
      max-width: 40vw;
      overflow: hidden;
      text-overflow: ellipsis;
      white-space: nowrap;
      font-size: 0.875rem;
      padding-inline: 4px;
    }
  `,
  template: `
    <ion-header>
      <ion-toolbar color="primary">
        <ion-title>Todos</ion-title>
        <ion-buttons slot="end">
          <ion-button (click)="reload()" [disabled]="store.loading()" aria-label="Refresh list">
            <ion-icon slot="icon-only" name="refresh" aria-hidden="true" />
          </ion-button>
          @if (session.enabled) {
            @if (session.user(); as user) {
              <span class="who signed-in-as" [title]="'Signed in as ' + (user.email ?? user.name)">
                <span class="ion-hide">Signed in as </span>{{ user.email ?? user.name }}
              </span>
            }
            <ion-button (click)="signOut()" class="sign-out" aria-label="Sign out">
              <ion-icon slot="start" name="log-out-outline" aria-hidden="true" />
              <span class="ion-hide-sm-down">Sign out</span>
            </ion-button>
          }
        </ion-buttons>
        @if (store.loading()) {
          <ion-progress-bar type="indeterminate" color="light" aria-label="Loading todos" />
        }
      </ion-toolbar>
    </ion-header>

    <ion-content>
      <ion-refresher slot="fixed" (ionRefresh)="onPull($event)">
        <ion-refresher-content />
      </ion-refresher>

      <div class="page-width">
        @if (!store.loaded()) {
          @if (store.loadError(); as err) {
            <div class="state" role="alert">
              <ion-text color="danger"><h2>Couldn't load your todos</h2></ion-text>
              <p>{{ err.message }}</p>
              <ion-button (click)="reload()">Retry</ion-button>
            </div>
          } @else {
            <div class="state" aria-live="polite">
              <ion-spinner name="crescent" aria-hidden="true" />
              <p>Loading todos…</p>
            </div>
          }
        } @else if (store.todos().length === 0) {
          <div class="state empty-state">
            <h2>Nothing to do</h2>
            <p>Add your first todo with the + button.</p>
            <ion-button (click)="openForm()">Add a todo</ion-button>
          </div>
        } @else {
          <ion-list aria-label="Todos" class="todo-list">
            @for (todo of store.todos(); track todo.id) {
              <ion-item-sliding class="todo">
                <ion-item lines="full">
                  <ion-label>
                    <div class="description">{{ todo.description }}</div>
                    <p class="due">
                      @if (todo.dueDate) {
                        Due {{ due(todo.dueDate) }}
                      } @else {
                        No due date
                      }
                    </p>
                  </ion-label>
                  <ion-badge slot="end" [color]="priorityColor(todo.priority)" class="priority">
                    {{ todo.priority }}<span class="ion-hide"> priority</span>
                  </ion-badge>
                  <ion-buttons slot="end">
                    <ion-button (click)="openForm(todo)" [attr.aria-label]="'Edit: ' + todo.description" class="edit">
                      <ion-icon slot="icon-only" name="create-outline" aria-hidden="true" />
                    </ion-button>
                    <ion-button
                      color="danger"
                      (click)="remove(todo)"
                      [attr.aria-label]="'Delete: ' + todo.description"
                      class="delete"
                    >
                      <ion-icon slot="icon-only" name="trash-outline" aria-hidden="true" />
                    </ion-button>
                  </ion-buttons>
                </ion-item>
                <ion-item-options side="end">
                  <ion-item-option color="danger" (click)="remove(todo)" expandable>
                    <ion-icon slot="start" name="trash-outline" aria-hidden="true" />
                    Delete
                  </ion-item-option>
                </ion-item-options>
              </ion-item-sliding>
            }
          </ion-list>
        }
      </div>

      <ion-fab slot="fixed" vertical="bottom" horizontal="end" id="add-fab">
        <ion-fab-button (click)="openForm()" aria-label="Add todo" class="add">
          <ion-icon name="add" aria-hidden="true" />
        </ion-fab-button>
      </ion-fab>
    </ion-content>
  `,
})
export class TodosPage {
  protected readonly store = inject(TodoStore);
  protected readonly session = inject(AuthSession);
  private readonly drafts = inject(DraftKeeper);
  private readonly notifier = inject(Notifier);
  private readonly modals = inject(ModalController);
  private readonly locale = inject(LOCALE_ID);
  private readonly userLocale = typeof navigator !== 'undefined' ? navigator.language : this.locale;

  constructor() {
    void this.reload();
    // Back from a sign-in that a 401 started: reopen the form that was open, as it was.
    const draft = this.session.enabled ? this.drafts.take(this.session.user()?.id ?? null) : null;
    if (draft) void this.openForm(draft.editing ?? undefined, draft);
  }

  protected signOut(): void {
    void this.session.signOut();
  }

  protected due(wire: string): string {
    return formatDueDate(wire, this.userLocale);
  }

  protected priorityColor(p: Priority): string {
    return PRIORITY_COLOR[p] ?? 'medium';
  }

  /**
   * Loads the list from the server, also after each write to re-sync with it. A failure shows an error
   * toast with Retry, which replaces any toast on screen (the success toast of that write too).
   */
  async reload(): Promise<void> {
    try {
      await this.store.refresh();
    } catch (err) {
      await this.notifier.error(`Couldn't load todos. ${toApiError(err).message}`, () => void this.reload());
    }
  }

  async onPull(event: RefresherCustomEvent): Promise<void> {
    await this.reload();
    await event.target.complete();
  }

  async openForm(todo?: Todo, draft?: TodoDraft): Promise<void> {
    await this.notifier.clear();
    const modal = await this.modals.create({
      component: TodoFormComponent,
      componentProps: { todo, draft },
    });
    await modal.present();
    if (draft) await this.notifier.info('You are signed in again. Your unsaved changes are back.');
    const { role, data } = await modal.onWillDismiss<Todo>();
    if (role === 'saved' && data) {
      await this.notifier.info(todo ? 'Todo updated' : 'Todo added');
      void this.reload();
    }
  }

  async remove(todo: Todo): Promise<void> {
    try {
      await this.store.remove(todo.id);
    } catch (err) {
      await this.notifier.error(`Couldn't delete “${short(todo.description)}”. ${toApiError(err).message}`, () =>
        void this.remove(todo),
      );
      return;
    }
    await this.notifier.info(`Deleted “${short(todo.description)}”`, { text: 'Undo', handler: () => void this.undo(todo) });
    void this.reload();
  }

  private async undo(todo: Todo): Promise<void> {
    try {
      await this.store.save(todo);
    } catch (err) {
      await this.notifier.error(`Couldn't restore “${short(todo.description)}”. ${toApiError(err).message}`, () =>
        void this.undo(todo),
      );
      return;
    }
    await this.notifier.info('Todo restored');
    void this.reload();
  }
}

function short(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > 40 ? `${oneLine.slice(0, 39)}…` : oneLine;
}
