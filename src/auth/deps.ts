/** What the auth services are built from (passed explicitly by the composition root, no singletons). */
import type { CollectionStore } from '../collections/store.js';
import type { Database } from '../db/dialect.js';
import type { HookBus } from '../hooks/index.js';
import type { Mailer } from '../mail/index.js';
import type { RecordReader } from '../records/query.js';
import type { RecordWriter } from '../records/write.js';
import type { Settings } from '../settings/index.js';
import type { Logger } from '../util/logger.js';
import type { SecretBox } from '../util/secret-box.js';
import type { BackgroundTasks } from './background.js';

/** The app services every auth flow may use. */
export interface AuthDeps {
  db: Database;
  collections: CollectionStore;
  reader: RecordReader;
  writer: RecordWriter;
  hooks: HookBus;
  settings: () => Settings;
  mailer: Mailer;
  logger: Logger;
  background: BackgroundTasks;
  /** Seals secrets at rest (the TOTP shared secrets); absent, they are stored as they are. */
  box?: () => SecretBox;
}
