// Builds the admin UI (Svelte 5 + Vite) into dist/admin, served by Plinth at /_/.
// Run through `npm run build` (root); everything is bundled, nothing is loaded from outside hosts.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

const here = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root: here,
  base: '/_/',
  logLevel: 'warn',
  plugins: [
    svelte({
      // Components are keyed by what they edit, so reading a prop's initial value is intended.
      compilerOptions: { warningFilter: (w) => w.code !== 'state_referenced_locally' },
    }),
  ],
  build: {
    outDir: fileURLToPath(new URL('../dist/admin', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: false,
    chunkSizeWarningLimit: 1000,
    modulePreload: { polyfill: false },
  },
  server: {
    // `npm run dev:admin` proxies the API to a running `plinth serve`.
    proxy: { '/api': 'http://127.0.0.1:8090' },
  },
});
