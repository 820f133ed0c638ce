/**
 * The public entry: `import … from 'plinth'`. Everything a user's hook files, routes, jobs and migrations
 * use comes from here, with types; nothing else under src/ is a public API.
 */
export type { MigrationApi } from './migrations/migrations.js';
