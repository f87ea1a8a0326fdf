import { Injectable, inject } from '@angular/core';
import { ToastController } from '@ionic/angular/toast-controller';

const FAB_ID = 'add-fab';

/** Toasts for outcomes: errors stay until dismissed and offer Retry. */
@Injectable({ providedIn: 'root' })
export class Notifier {
  private readonly toasts = inject(ToastController);
  private current: HTMLIonToastElement | null = null;

  /** An error toast; `retry` adds a button (labelled `retryText`) that runs it. */
  async error(message: string, retry?: () => void, retryText = 'Retry'): Promise<void> {
    await this.show({
      message,
      color: 'danger',
      icon: 'alert-circle-outline',
      duration: 0,
      cssClass: 'error-toast',
      buttons: [
        ...(retry ? [{ text: retryText, role: 'retry', handler: () => retry() }] : []),
        { text: 'Dismiss', role: 'cancel' },
      ],
    });
  }

  async info(message: string, action?: { text: string; handler: () => void }): Promise<void> {
    await this.show({
      message,
      duration: action ? 6000 : 2500,
      cssClass: 'info-toast',
      buttons: action ? [{ text: action.text, role: 'action', handler: () => action.handler() }] : [],
    });
  }

  /** Dismisses the toast on screen, if any. */
  async clear(): Promise<void> {
    const t = this.current;
    this.current = null;
    if (t) await t.dismiss().catch(() => undefined);
  }

  private async show(options: Parameters<ToastController['create']>[0]): Promise<void> {
    await this.clear();
    // Sit above the add button so it stays usable while a toast is shown.
    const anchor = typeof document !== 'undefined' && document.getElementById(FAB_ID) ? FAB_ID : undefined;
    const toast = await this.toasts.create({ position: 'bottom', positionAnchor: anchor, swipeGesture: 'vertical', ...options });
    this.current = toast;
    toast.onDidDismiss().then(() => {
      if (this.current === toast) this.current = null;
    });
    await toast.present();
  }
}
