import { ChangeDetectionStrategy, Component } from '@angular/core';
import { IonApp } from '@ionic/angular/ion-app';
import { addIcons } from 'ionicons';
import { add, alertCircleOutline, createOutline, refresh, trashOutline } from 'ionicons/icons';
import { TodosPage } from './todos-page';

@Component({
  selector: 'app-root',
  imports: [IonApp, TodosPage],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `<ion-app><app-todos-page /></ion-app>`,
})
export class App {
  constructor() {
    // Register the icons we use as inline SVG so nothing is fetched at runtime.
    addIcons({ add, alertCircleOutline, createOutline, refresh, trashOutline });
  }
}
