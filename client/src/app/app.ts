import { ChangeDetectionStrategy, Component, computed, inject } from '@angular/core';
import { IonApp } from '@ionic/angular/ion-app';
import { addIcons } from 'ionicons';
import { add, alertCircleOutline, createOutline, logOutOutline, refresh, trashOutline } from 'ionicons/icons';
import { AuthSession } from './auth/auth-session';
import { SignedOutPage } from './signed-out-page';
import { TodosPage } from './todos-page';

@Component({
  selector: 'app-root',
  imports: [IonApp, SignedOutPage, TodosPage],
  changeDetection: ChangeDetectionStrategy.OnPush,
  // With sign-in off (state `off`) the list is all there is, exactly as without sign-in support.
  template: `<ion-app>
    @if (showList()) {
      <app-todos-page />
    } @else {
      <app-signed-out-page />
    }
  </ion-app>`,
})
export class App {
  private readonly session = inject(AuthSession);
  protected readonly showList = computed(() => this.session.state() === 'off' || this.session.state() === 'signed-in');

  constructor() {
    // Register the icons we use as inline SVG so nothing is fetched at runtime.
    addIcons({ add, alertCircleOutline, createOutline, logOutOutline, refresh, trashOutline });
  }
}
