// The logged-in superuser, kept in the SDK's LocalAuthStore (so a reload stays logged in).
import { pb } from './pb';

function snapshot() {
  return { valid: pb.authStore.isValid && pb.authStore.isSuperuser, email: String(pb.authStore.record?.email ?? '') };
}

export const session = $state(snapshot());

pb.authStore.onChange(() => Object.assign(session, snapshot()));

/** Re-checks a stored token with the server once at start; a rejected token logs out. */
export async function refreshSession(): Promise<void> {
  if (!session.valid) return;
  try {
    await pb.collection('_superusers').authRefresh();
  } catch (err) {
    const status = (err as { status?: number }).status;
    if (status === 401 || status === 403 || status === 404) pb.authStore.clear();
  }
}

export function logout(): void {
  pb.authStore.clear();
}
