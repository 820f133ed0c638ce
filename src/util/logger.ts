/**
 * Logging: pino (Fastify's own logger), JSON to stdout. Secrets never go in: request logging records
 * method, url path and status, not headers or bodies.
 */
import { pino, type Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;

export function createLogger(level: string = process.env.PLINTH_LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, redact: { paths: ['req.headers.authorization', 'password', '*.password', 'token', '*.token'], remove: true } });
}

/** A logger that drops everything (tests, benchmarks). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
