import { provideHttpClient, withFetch, withInterceptors } from '@angular/common/http';
import { bootstrapApplication } from '@angular/platform-browser';
import { provideIonicAngular } from '@ionic/angular/provide';
import { App } from './app/app';
import { APP_CONFIG, loadConfig } from './app/app-config';
import { apiAuthInterceptor } from './app/auth/api-auth.interceptor';

// The API base URL (and sign-in, if any) is read at runtime so one build serves every environment.
loadConfig()
  .then(async (config) => {
    // Sign-in code (and its library) is its own chunk, loaded only when config.json asks for sign-in.
    const oidc = config.auth ? await import('./app/auth/oidc-session') : null;
    return bootstrapApplication(App, {
      providers: [
        { provide: APP_CONFIG, useValue: config },
        provideHttpClient(withFetch(), withInterceptors(config.auth ? [apiAuthInterceptor] : [])),
        provideIonicAngular({ useSetInputAPI: true }),
        ...(oidc && config.auth ? [oidc.provideOidcSession(config.auth)] : []),
      ],
    });
  })
  .catch((err) => {
    console.error(err);
    // Nothing Angular could render: say so plainly instead of a blank page.
    const box = document.createElement('p');
    box.setAttribute('role', 'alert');
    box.style.cssText = 'font-family: system-ui, sans-serif; padding: 24px; color: #b00020';
    box.textContent = `The app could not start: ${err instanceof Error ? err.message : String(err)}`;
    document.body.replaceChildren(box);
  });
