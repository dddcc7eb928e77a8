import 'server-only';

import nodemailer from 'nodemailer';

import { env } from '~/env';

/**
 * Coffer's outgoing mail (invitations, password resets) through the SMTP server of
 * COFFER_SMTP_URL, with nodemailer. No server configured: no mailer (null), and callers say
 * so (an owner gets the invitation link to pass on). Messages are never logged: they carry
 * links with tokens.
 */

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
}

export interface Mailer {
  send: (message: MailMessage) => Promise<void>;
}

/** A mailer for one SMTP server (a URL such as smtp://127.0.0.1:2525). */
export function createSmtpMailer(options: { url: string; from: string }): Mailer {
  const transport = nodemailer.createTransport(options.url, {
    from: options.from,
    // Never nodemailer's own logging: it would print the message.
    logger: false,
    debug: false,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 20_000,
  });
  return {
    async send(message) {
      await transport.sendMail({ to: message.to, subject: message.subject, text: message.text });
    },
  };
}

let configured: Mailer | null | undefined;

/** The configured mailer, or null when COFFER_SMTP_URL is empty. */
export function getMailer(): Mailer | null {
  if (configured === undefined) {
    configured = env.COFFER_SMTP_URL
      ? createSmtpMailer({ url: env.COFFER_SMTP_URL, from: env.COFFER_SMTP_FROM })
      : null;
  }
  return configured;
}

/** An absolute link into the console (its public URL, BETTER_AUTH_URL). */
export function consoleLink(path: string): string {
  return new URL(path, env.BETTER_AUTH_URL).href;
}
