import { type AddressInfo } from 'node:net';

import { SMTPServer } from 'smtp-server';

/**
 * A real SMTP server (the `smtp-server` package: the SMTP protocol, EHLO … DATA … QUIT) on
 * loopback, for tests of what Coffer sends by mail: it accepts every message on a free port
 * and keeps it. Nothing leaves the machine. Plain SMTP without TLS or authentication, as a
 * relay on localhost is configured (`smtp://127.0.0.1:<port>`).
 */

export interface CapturedMail {
  from: string;
  to: string[];
  /** The message as received (headers and body, possibly quoted-printable or base64). */
  raw: string;
  subject: string;
  /** The text/plain body, decoded. */
  text: string;
}

export interface SmtpCapture {
  port: number;
  /** `smtp://127.0.0.1:<port>`, for COFFER_SMTP_URL. */
  url: string;
  messages: CapturedMail[];
  /** The first message to `to` (case-insensitive) received after `since` messages, waiting up to `timeoutMs`. */
  waitForMail: (
    to: string,
    options?: { since?: number; timeoutMs?: number },
  ) => Promise<CapturedMail>;
  close: () => Promise<void>;
}

function decodeQuotedPrintable(text: string): string {
  const bytes = text
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  return Buffer.from(bytes, 'latin1').toString('utf8');
}

function headerOf(head: string, name: string): string {
  const unfolded = head.replace(/\r?\n[ \t]+/g, ' ');
  const line = unfolded
    .split(/\r?\n/)
    .find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  return line ? line.slice(name.length + 1).trim() : '';
}

function decodeHeaderWords(value: string): string {
  return value.replace(/=\?utf-8\?([QB])\?([^?]*)\?=/gi, (_, encoding: string, data: string) =>
    encoding.toUpperCase() === 'B'
      ? Buffer.from(data, 'base64').toString('utf8')
      : decodeQuotedPrintable(data.replace(/_/g, ' ')),
  );
}

/** The text/plain part of a message (single part, or the first text/plain part of a multipart one), decoded. */
export function textOfMail(raw: string): string {
  const split = raw.search(/\r?\n\r?\n/);
  const head = raw.slice(0, split);
  const body = raw.slice(split).replace(/^\r?\n\r?\n/, '');
  const type = headerOf(head, 'content-type');
  const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
  if (boundary) {
    for (const part of body.split(`--${boundary}`)) {
      const trimmed = part.replace(/^\r?\n/, '');
      if (/^content-type:\s*text\/plain/im.test(trimmed.slice(0, trimmed.search(/\r?\n\r?\n/))))
        return textOfMail(trimmed);
    }
    return '';
  }
  const encoding = headerOf(head, 'content-transfer-encoding').toLowerCase();
  if (encoding === 'quoted-printable') return decodeQuotedPrintable(body);
  if (encoding === 'base64')
    return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  return body;
}

export async function startSmtpCapture(
  options: {
    /** Default: a free port. */
    port?: number;
    /** Called with each message as it arrives. */
    onMessage?: (mail: CapturedMail) => void;
  } = {},
): Promise<SmtpCapture> {
  const messages: CapturedMail[] = [];
  const server = new SMTPServer({
    secure: false,
    disabledCommands: ['STARTTLS', 'AUTH'],
    authOptional: true,
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const head = raw.slice(0, raw.search(/\r?\n\r?\n/));
        const mail: CapturedMail = {
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
          raw,
          subject: decodeHeaderWords(headerOf(head, 'subject')),
          text: textOfMail(raw),
        };
        messages.push(mail);
        options.onMessage?.(mail);
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    messages,
    async waitForMail(to, { since = 0, timeoutMs = 15_000 } = {}) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = messages
          .slice(since)
          .find((mail) => mail.to.some((address) => address.toLowerCase() === to.toLowerCase()));
        if (found) return found;
        if (Date.now() > deadline)
          throw new Error(`no mail to ${to} within ${timeoutMs} ms (${messages.length} received)`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
