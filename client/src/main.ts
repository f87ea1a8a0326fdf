import { provideHttpClient, withFetch } from '@angular/common/http';
import { bootstrapApplication } from '@angular/platform-browser';
import { provideIonicAngular } from '@ionic/angular/provide';
import { App } from './app/app';
import { APP_CONFIG, loadConfig } from './app/app-config';

// The API base URL is read at runtime so one build serves every environment.
loadConfig()
  .then((config) =>
    bootstrapApplication(App, {
      providers: [
        { provide: APP_CONFIG, useValue: config },
        provideHttpClient(withFetch()),
        provideIonicAngular({ useSetInputAPI: true }),
      ],
    }),
  )
  .catch((err) => console.error(err));
