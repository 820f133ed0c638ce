/**
 * A real SMTP server (npm `smtp-server`) on 127.0.0.1:<ephemeral port> that accepts every message and
 * keeps it, so auth tests can read the mails Plinth sends and follow their links and codes.
 */
import { SMTPServer } from 'smtp-server';
import type { TestServer } from './server.js';

/** One received mail, decoded. */
export interface CapturedMail {
  from: string;
  to: string[];
  subject: string;
  html: string;
  text: string;
  raw: string;
}

function decodeQuotedPrintable(s: string): string {
  const bytes = Buffer.from(s.replace(/=\r?\n/g, ''), 'latin1');
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number;
    if (b === 0x3d && i + 2 < bytes.length) {
      const hex = bytes.subarray(i + 1, i + 3).toString('latin1');
      if (/^[0-9A-F]{2}$/i.test(hex)) {
        out.push(parseInt(hex, 16));
        i += 2;
        continue;
      }
    }
    out.push(b);
  }
  return Buffer.from(out).toString('utf8');
}

function splitHeaders(part: string): { headers: Record<string, string>; body: string } {
  const idx = part.search(/\r?\n\r?\n/);
  const head = idx < 0 ? part : part.slice(0, idx);
  const body = idx < 0 ? '' : part.slice(idx).replace(/^\r?\n\r?\n/, '');
  const headers: Record<string, string> = {};
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const m = /^([^:]+):\s*(.*)$/.exec(line);
    if (m) headers[(m[1] as string).toLowerCase()] = m[2] as string;
  }
  return { headers, body };
}

function decodeBody(headers: Record<string, string>, body: string): string {
  const cte = (headers['content-transfer-encoding'] ?? '').toLowerCase();
  if (cte === 'quoted-printable') return decodeQuotedPrintable(body);
  if (cte === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  return body;
}

function decodeHeaderWords(value: string): string {
  return value.replace(/=\?utf-8\?([qb])\?([^?]*)\?=/gi, (_m, enc: string, text: string) =>
    enc.toLowerCase() === 'b' ? Buffer.from(text, 'base64').toString('utf8') : decodeQuotedPrintable(text.replace(/_/g, ' ')),
  );
}

/** Parses a MIME message into its subject and html/text alternatives (one multipart level is enough here). */
export function parseMail(raw: string): Pick<CapturedMail, 'subject' | 'html' | 'text'> {
  const { headers, body } = splitHeaders(raw);
  const out = { subject: decodeHeaderWords(headers.subject ?? ''), html: '', text: '' };
  const visit = (h: Record<string, string>, b: string) => {
    const type = (h['content-type'] ?? 'text/plain').toLowerCase();
    const boundary = /boundary="?([^";]+)"?/i.exec(h['content-type'] ?? '')?.[1];
    if (type.startsWith('multipart/') && boundary) {
      for (const chunk of b.split(`--${boundary}`).slice(1)) {
        if (chunk.startsWith('--')) break;
        const p = splitHeaders(chunk.replace(/^\r?\n/, ''));
        visit(p.headers, p.body);
      }
    } else if (type.startsWith('text/html')) out.html = decodeBody(h, b);
    else if (type.startsWith('text/plain')) out.text = decodeBody(h, b);
  };
  visit(headers, body);
  return out;
}

/** The running sink. */
export interface SmtpSink {
  port: number;
  mails: CapturedMail[];
  /** The first mail (received so far or within `timeoutMs`) matching `match`. */
  waitFor(match: (m: CapturedMail) => boolean, timeoutMs?: number): Promise<CapturedMail>;
  /** Mails to `address` (case-insensitive). */
  to(address: string): CapturedMail[];
  /** Points a test server's SMTP settings at this sink. */
  attach(s: TestServer): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts an SMTP sink on a loopback ephemeral port. With `auth`, it takes mail only from a client that
 * logs in with exactly that username and password (AUTH PLAIN/LOGIN without TLS, on loopback).
 */
export async function startSmtpSink(options: { auth?: { username: string; password: string } } = {}): Promise<SmtpSink> {
  const mails: CapturedMail[] = [];
  const waiters = new Set<() => void>();
  const required = options.auth;
  const server = new SMTPServer({
    authOptional: !required,
    allowInsecureAuth: true,
    authMethods: ['PLAIN', 'LOGIN'],
    onAuth(auth, _session, callback) {
      if (required && auth.username === required.username && auth.password === required.password) return callback(null, { user: auth.username });
      callback(new Error('Invalid username or password'));
    },
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw,
          ...parseMail(raw),
        });
        for (const w of waiters) w();
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = (server as unknown as { server: import('node:net').Server }).server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    mails,
    to: (address: string) => mails.filter((m) => m.to.some((t) => t.toLowerCase() === address.toLowerCase())),
    waitFor(match, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = mails.find(match);
          if (found) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(found);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no matching mail within ${timeoutMs} ms (${mails.length} received)`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async attach(s: TestServer) {
      await s.app.settings.update({
        smtp: { enabled: true, host: '127.0.0.1', port, tls: false, username: '', password: '' },
        meta: { appName: 'Plinth Test', appURL: 'http://app.test', senderName: 'Plinth', senderAddress: 'noreply@app.test' },
      });
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The token at the end of a link like `…/confirm-verification/<token>` in a mail. */
export function tokenFromMail(mail: CapturedMail, action: string): string {
  const m = new RegExp(`${action}/([A-Za-z0-9_\\-.]+)`).exec(mail.html);
  if (!m) throw new Error(`no ${action} link in mail: ${mail.html.slice(0, 500)}`);
  return m[1] as string;
}

/** The one-time code of an OTP mail. */
export function otpFromMail(mail: CapturedMail): string {
  const m = /<strong>(\d+)<\/strong>/.exec(mail.html);
  if (!m) throw new Error(`no OTP in mail: ${mail.html.slice(0, 500)}`);
  return m[1] as string;
}
