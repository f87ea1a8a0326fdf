import { ChangeDetectionStrategy, Component, inject } from '@angular/core';
import { IonButton } from '@ionic/angular/ion-button';
import { IonContent } from '@ionic/angular/ion-content';
import { IonHeader } from '@ionic/angular/ion-header';
import { IonSpinner } from '@ionic/angular/ion-spinner';
import { IonText } from '@ionic/angular/ion-text';
import { IonTitle } from '@ionic/angular/ion-title';
import { IonToolbar } from '@ionic/angular/ion-toolbar';
import { AuthSession } from './auth/auth-session';

/** What a person sees before signing in (with sign-in on): progress, what went wrong, and the Sign in button. */
@Component({
  selector: 'app-signed-out-page',
  changeDetection: ChangeDetectionStrategy.OnPush,
  host: { class: 'ion-page' },
  imports: [IonButton, IonContent, IonHeader, IonSpinner, IonText, IonTitle, IonToolbar],
  styles: `
    .state {
      display: flex;
      flex-direction: column;
      align-items: center;
      gap: 12px;
      padding: 48px 16px;
      text-align: center;
    }
    .problem {
      max-width: 480px;
    }
  `,
  template: `
    <ion-header>
      <ion-toolbar color="primary">
        <ion-title>Todos</ion-title>
      </ion-toolbar>
    </ion-header>
    <ion-content>
      <div class="page-width state">
        @switch (session.state()) {
          @case ('signed-out') {
            @if (session.problem(); as problem) {
              <div class="problem auth-problem" role="alert">
                <ion-text color="danger"><h2>{{ problem.title }}</h2></ion-text>
                <p>{{ problem.message }}</p>
              </div>
            } @else if (session.signedOut()) {
              <p class="signed-out-notice" role="status">You have signed out.</p>
            }
            <h2>Sign in to see your todos</h2>
            <ion-button (click)="signIn()" class="sign-in">Sign in</ion-button>
          }
          @case ('redirecting') {
            <ion-spinner name="crescent" aria-hidden="true" />
            <p aria-live="polite">Going to the sign-in page…</p>
          }
          @default {
            <ion-spinner name="crescent" aria-hidden="true" />
            <p aria-live="polite">Signing in…</p>
          }
        }
      </div>
    </ion-content>
  `,
})
export class SignedOutPage {
  protected readonly session = inject(AuthSession);

  protected signIn(): void {
    void this.session.signIn();
  }
}
