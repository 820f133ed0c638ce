// settings.meta as the dashboard uses it: the app name (page title) and hideControls (no collection
// create/edit buttons). Loaded after login; refreshed when the settings page saves.
import { pb } from './pb';

export const appMeta = $state({ appName: 'Plinth', hideControls: false });

export async function loadAppMeta(): Promise<void> {
  try {
    const s = await pb.settings.getAll({ fields: 'meta' });
    setAppMeta(s.meta ?? {});
  } catch {
    // keep the defaults
  }
}

export function setAppMeta(meta: { appName?: string; hideControls?: boolean }): void {
  appMeta.appName = meta.appName || 'Plinth';
  appMeta.hideControls = !!meta.hideControls;
  document.title = appMeta.appName === 'Plinth' ? 'Plinth' : `${appMeta.appName} · Plinth`;
}
