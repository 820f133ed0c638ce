/**
 * A failure outside any request that the CLI reports as one clear line and exit code 1 instead of a
 * stack trace: a database that cannot be opened, a data move that cannot proceed.
 */
export class StartupError extends Error {
  override name = 'StartupError';
}
