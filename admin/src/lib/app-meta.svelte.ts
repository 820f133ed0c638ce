// settings.meta as the dashboard uses it: the app name (page title) and hideControls (no collection
// create/edit buttons), plus whether mail is configured (settings.smtp.enabled: the shell says so once).
// Loaded after login; refreshed when the settings page saves.
import { pb } from './pb';

export const appMeta = $state({ appName: 'Plinth', hideControls: false, mailConfigured: null as boolean | null });

export async function loadAppMeta(): Promise<void> {
  try {
    const s = await pb.settings.getAll({ fields: 'meta,smtp' });
    setAppMeta(s.meta ?? {}, s.smtp);
  } catch {
    // keep the defaults
  }
}

export function setAppMeta(meta: { appName?: string; hideControls?: boolean }, smtp?: { enabled?: boolean }): void {
  appMeta.appName = meta.appName || 'Plinth';
  appMeta.hideControls = !!meta.hideControls;
  if (smtp) appMeta.mailConfigured = !!smtp.enabled;
  document.title = appMeta.appName === 'Plinth' ? 'Plinth' : `${appMeta.appName} · Plinth`;
}
