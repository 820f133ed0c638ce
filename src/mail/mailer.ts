/**
 * Sending mail over SMTP with the settings' `smtp` block and `meta.senderName/senderAddress`. nodemailer is
 * loaded on first use; one pooled transport is kept per distinct SMTP configuration and replaced when the
 * settings change. Timeouts are short and the number of mails in flight is bounded, so an unreachable or
 * slow SMTP server (or a flood of requests that send mail) cannot pile up sockets and memory.
 */
import type { HookBus } from '../hooks/index.js';
import type { Settings } from '../settings/index.js';
import type { Logger } from '../util/logger.js';

/** One outgoing message; `html` and `text` are alternatives of the same body. */
export interface MailMessage {
  to: string;
  subject: string;
  html: string;
  text: string;
}

/** Thrown when a mail cannot be sent because SMTP is off or refused it. */
export class MailError extends Error {
  override readonly name: string = 'MailError';
}

/**
 * send() while SMTP is off. Expected on an instance without mail: `plinth serve` says so once at start
 * (and `GET /api/health` tells superusers `smtpConfigured: false`), so it is not logged per request.
 */
export class MailNotConfiguredError extends MailError {
  override readonly name: string = 'MailNotConfiguredError';
}

type Transport = import('nodemailer').Transporter;

/** Beyond this many queued/in-flight mails new ones are dropped (and logged), not queued. */
const MAX_IN_FLIGHT = 500;
const TIMEOUT_MS = 10_000;

let nodemailer: Promise<typeof import('nodemailer')> | null = null;
function loadNodemailer() {
  nodemailer ??= import('nodemailer');
  return nodemailer;
}

/** The SMTP client of the app. */
/** nodemailer's connection options for `settings.smtp` (the mailer's pool and `plinth doctor`'s check share them). */
export function smtpConnection(smtp: Settings['smtp']): {
  host: string;
  port: number;
  secure: boolean;
  auth?: { user: string; pass: string };
  authMethod?: string;
  name?: string;
} {
  const method = smtp.authMethod.trim().toUpperCase();
  return {
    host: smtp.host,
    port: smtp.port,
    // `tls` is implicit TLS (usually port 465); otherwise STARTTLS is used whenever the server offers it.
    secure: smtp.tls,
    ...(smtp.username ? { auth: { user: smtp.username, pass: smtp.password } } : {}),
    ...(smtp.username && (method === 'PLAIN' || method === 'LOGIN') ? { authMethod: method } : {}),
    ...(smtp.localName ? { name: smtp.localName } : {}),
  };
}

export class Mailer {
  private transport: { key: string; transport: Transport } | null = null;
  private inFlight = 0;

  constructor(
    private readonly settings: () => Settings,
    private readonly logger: Logger,
    private readonly hooks?: HookBus,
  ) {}

  /** Whether SMTP is configured on; when it is off, `send` refuses instead of silently dropping. */
  get enabled(): boolean {
    return this.settings().smtp.enabled;
  }

  /**
   * Sends one message; rejects with MailError when SMTP is off, saturated or refused the message.
   * `onMailerSend` handlers see (and may change) the message first; one that does not call `next()`
   * cancels it, and `send` then resolves without sending.
   */
  async send(message: MailMessage): Promise<void> {
    const hook = this.hooks?.onMailerSend;
    if (!hook || hook.length === 0) return this.deliver(message);
    await hook.trigger({ message: { ...message } }, (e) => this.deliver(e.message));
  }

  private async deliver(message: MailMessage): Promise<void> {
    const s = this.settings();
    if (!s.smtp.enabled) throw new MailNotConfiguredError('SMTP is not enabled in the settings.');
    if (this.inFlight >= MAX_IN_FLIGHT) throw new MailError('Too many mails are waiting to be sent.');
    this.inFlight++;
    try {
      const transport = await this.transportFor(s);
      await transport.sendMail({
        from: { name: s.meta.senderName, address: s.meta.senderAddress },
        to: message.to,
        subject: message.subject,
        html: message.html,
        text: message.text,
      });
    } catch (err) {
      if (err instanceof MailError) throw err;
      throw new MailError(`Failed to send the mail: ${(err as Error).message}`, { cause: err });
    } finally {
      this.inFlight--;
    }
  }

  /** Closes the pooled SMTP connections (app shutdown). */
  close(): void {
    this.transport?.transport.close();
    this.transport = null;
  }

  private async transportFor(s: Settings): Promise<Transport> {
    const smtp = s.smtp;
    const key = JSON.stringify(smtp);
    if (this.transport?.key === key) return this.transport.transport;
    this.close();
    const { createTransport } = await loadNodemailer();
    const transport = createTransport({
      ...smtpConnection(smtp),
      pool: true,
      maxConnections: 3,
      connectionTimeout: TIMEOUT_MS,
      greetingTimeout: TIMEOUT_MS,
      socketTimeout: TIMEOUT_MS * 3,
      logger: false,
    });
    transport.on('error', (err) => this.logger.warn({ err }, 'SMTP transport error'));
    this.transport = { key, transport };
    return transport;
  }
}
