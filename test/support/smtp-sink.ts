import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerAddress, type SMTPServerSession } from 'smtp-server';

/** A message as the SMTP server received it: the envelope and the exact bytes after DATA. */
export interface ReceivedMail {
  from: string;
  to: string[];
  raw: Buffer;
  at: number;
}

/** Decides how the server answers; return an SMTP reply code and text to refuse, or null to accept. */
export interface SinkScript {
  onConnect?: () => { code: number; message: string } | null;
  onRcptTo?: (address: string) => { code: number; message: string } | null;
  /** Called once the message is in; `to` is its envelope recipients. */
  onData?: (to: string[]) => { code: number; message: string } | null;
  /** Offer AUTH over plaintext and accept only this user and password (535 otherwise). Default: no AUTH. */
  login?: { user: string; pass: string };
}

export interface SmtpSink {
  port: number;
  /** A relay URL for TOCSIN_SMTP_URLS. smtp-server's bundled certificate has expired: no STARTTLS. */
  url: string;
  mails: ReceivedMail[];
  /** Messages whose DATA the script refused, as they were sent. */
  refused: ReceivedMail[];
  /** Connections opened so far, refused ones included. */
  connections: () => number;
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedMail[]>;
  close(): Promise<void>;
}

function smtpError(reply: { code: number; message: string }): Error {
  return Object.assign(new Error(reply.message), { responseCode: reply.code });
}

/** A real SMTP server (the `smtp-server` package) on 127.0.0.1 that keeps what it receives. */
export async function startSmtpSink(script: SinkScript = {}): Promise<SmtpSink> {
  const mails: ReceivedMail[] = [];
  const refused: ReceivedMail[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  let connections = 0;
  const server = new SMTPServer({
    disableReverseLookup: true,
    authOptional: true,
    ...(script.login ? { allowInsecureAuth: true } : {}),
    onAuth(auth, _session, callback) {
      if (script.login && auth.username === script.login.user && auth.password === script.login.pass) return callback(null, { user: auth.username });
      callback(Object.assign(new Error('Authentication credentials invalid'), { responseCode: 535 }));
    },
    logger: false,
    size: 10 * 1024 * 1024,
    onConnect(_session: SMTPServerSession, callback: (err?: Error | null) => void) {
      connections += 1;
      const refusal = script.onConnect?.();
      callback(refusal ? smtpError(refusal) : null);
    },
    onRcptTo(address: SMTPServerAddress, _session: SMTPServerSession, callback: (err?: Error | null) => void) {
      const refusal = script.onRcptTo?.(address.address);
      callback(refusal ? smtpError(refusal) : null);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const envelope = session.envelope;
        const mail: ReceivedMail = {
          from: envelope.mailFrom ? envelope.mailFrom.address : '',
          to: envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks),
          at: Date.now(),
        };
        const refusal = script.onData?.(mail.to);
        if (refusal) {
          refused.push(mail);
          return callback(smtpError(refusal));
        }
        mails.push(mail);
        for (const w of waiters.filter((x) => mails.length >= x.count)) w.resolve();
        callback(null);
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    url: `smtp://127.0.0.1:${port}?ignoreTLS=true`,
    mails,
    refused,
    connections: () => connections,
    waitFor(count, timeoutMs = 15_000) {
      if (mails.length >= count) return Promise.resolve(mails);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`SMTP sink: ${mails.length} of ${count} messages within ${timeoutMs} ms`)), timeoutMs);
        waiters.push({
          count,
          resolve: () => {
            clearTimeout(timer);
            resolve(mails);
          },
        });
      });
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
