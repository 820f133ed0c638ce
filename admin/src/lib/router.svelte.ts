// Hash routing: `#/collections/posts`, `#/settings/smtp`, `#/logs`, `#/login`, `#/pbinstall/<token>`.
function current(): string[] {
  const hash = location.hash.replace(/^#\/?/, '');
  return hash
    .split('?')[0]!
    .split('/')
    .filter(Boolean)
    .map((p) => decodeURIComponent(p));
}

export const route = $state({ parts: current() });

window.addEventListener('hashchange', () => {
  route.parts = current();
});

export function go(path: string): void {
  const target = '#' + (path.startsWith('/') ? path : '/' + path);
  if (location.hash !== target) location.hash = target;
  else route.parts = current();
}
