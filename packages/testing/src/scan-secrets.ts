import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

import { secretsOfEnvironment, testLogDir } from './env';
import { LEDGER_FILE, type LedgerEntry } from './secrets';

/**
 * The scan of a test run's captured logs (COFFER_TEST_LOG_DIR) for every secret in its ledger
 * (and in the scan's own settings): as written, and in the encodings a careless log line
 * would use (base64 and base64url at any alignment, hex, URL and JSON escaping). It reports
 * file:line and what the secret is, never the secret.
 *
 *   node --import tsx packages/testing/src/scan-secrets.ts [dir]
 */

/** Shorter secrets would match by chance; they are reported as not scanned. */
export const MIN_SECRET_LENGTH = 8;
/** The length of the prefix the search indexes: no needle is shorter. */
const KEY_LENGTH = 8;

export interface Needle {
  text: string;
  label: string;
  encoding: string;
}

export interface Finding {
  file: string;
  line: number;
  label: string;
  encoding: string;
}

export interface ScanResult {
  findings: Finding[];
  files: number;
  lines: number;
  secrets: number;
  /** Labels of secrets too short to look for. */
  tooShort: string[];
}

/** The base64 characters of `bytes` that do not depend on what surrounds them, at each of the three alignments. */
function base64Alignments(bytes: Buffer): string[] {
  const found: string[] = [];
  for (let offset = 0; offset < 3; offset++) {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64');
    const firstGroup = Math.ceil(offset / 3);
    const lastGroup = Math.floor((offset + bytes.length) / 3); // exclusive
    if (lastGroup > firstGroup) found.push(encoded.slice(firstGroup * 4, lastGroup * 4));
  }
  // Standalone, padded and not.
  found.push(bytes.toString('base64'), bytes.toString('base64').replace(/=+$/, ''));
  return found;
}

/** What a secret may look like in a log line. */
export function needlesOf(entry: LedgerEntry): Needle[] {
  const forms = new Map<string, string>();
  const add = (text: string, encoding: string) => {
    if (text.length >= KEY_LENGTH && !forms.has(text)) forms.set(text, encoding);
  };
  const addBytes = (bytes: Buffer, what: string) => {
    for (const text of base64Alignments(bytes)) {
      add(text, `base64 of ${what}`);
      add(text.replace(/\+/g, '-').replace(/\//g, '_'), `base64url of ${what}`);
    }
    add(bytes.toString('hex'), `hex of ${what}`);
    add(bytes.toString('hex').toUpperCase(), `hex of ${what}`);
  };
  if (entry.value !== undefined) {
    const value = entry.value;
    add(value, 'as is');
    add(JSON.stringify(value).slice(1, -1), 'JSON-escaped');
    add(encodeURIComponent(value), 'URL-encoded');
    add(encodeURIComponent(value).replace(/%20/g, '+'), 'form-encoded');
    addBytes(Buffer.from(value, 'utf8'), 'its text');
    // A key written as hex or base64 may be logged as its bytes in the other encoding.
    if (/^(?:[0-9a-f]{2}){8,}$/i.test(value)) addBytes(Buffer.from(value, 'hex'), 'its bytes');
    if (/^[A-Za-z0-9+/_-]{11,}={0,2}$/.test(value) && value.length % 4 !== 1) {
      const bytes = Buffer.from(value.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
      if (bytes.length >= MIN_SECRET_LENGTH) addBytes(bytes, 'its bytes');
    }
  }
  if (entry.base64 !== undefined) addBytes(Buffer.from(entry.base64, 'base64'), 'its bytes');
  return [...forms].map(([text, encoding]) => ({ text, label: entry.label, encoding }));
}

function readLedger(dir: string): LedgerEntry[] {
  let text: string;
  try {
    text = readFileSync(join(dir, LEDGER_FILE), 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as LedgerEntry);
}

function filesUnder(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...filesUnder(path));
    else if (entry.isFile() && entry.name !== LEDGER_FILE) found.push(path);
  }
  return found.sort();
}

/** Scans every file under `dir` (the ledger aside) for the ledger's secrets and `extra` ones. */
export function scanForSecrets(dir: string, extra: LedgerEntry[] = []): ScanResult {
  const entries = [...readLedger(dir), ...extra];
  const seen = new Set<string>();
  const tooShort = new Set<string>();
  const byKey = new Map<string, Needle[]>();
  let secrets = 0;
  for (const entry of entries) {
    const identity = entry.value ?? `bytes:${entry.base64}`;
    if (seen.has(identity)) continue;
    seen.add(identity);
    const length = entry.value?.length ?? Buffer.from(entry.base64 ?? '', 'base64').length;
    if (length < MIN_SECRET_LENGTH) {
      tooShort.add(entry.label);
      continue;
    }
    secrets++;
    for (const needle of needlesOf(entry)) {
      const key = needle.text.slice(0, KEY_LENGTH);
      byKey.set(key, [...(byKey.get(key) ?? []), needle]);
    }
  }
  const findings: Finding[] = [];
  let files = 0;
  let lines = 0;
  for (const path of filesUnder(dir)) {
    files++;
    const text = readFileSync(path, 'utf8');
    let lineNumber = 1;
    const reported = new Set<string>();
    for (let at = 0; at + KEY_LENGTH <= text.length; at++) {
      if (text.charCodeAt(at) === 10) {
        lineNumber++;
        continue;
      }
      const candidates = byKey.get(text.slice(at, at + KEY_LENGTH));
      if (!candidates) continue;
      for (const needle of candidates) {
        if (!text.startsWith(needle.text, at)) continue;
        const where = `${lineNumber}:${needle.label}`;
        if (reported.has(where)) continue;
        reported.add(where);
        findings.push({
          file: path,
          line: lineNumber,
          label: needle.label,
          encoding: needle.encoding,
        });
      }
    }
    lines += lineNumber;
  }
  return { findings, files, lines, secrets, tooShort: [...tooShort] };
}

/** A path as short as it can be said: relative to the current directory when under it. */
function shown(path: string): string {
  const near = relative(process.cwd(), path);
  return near.startsWith('..') ? path : near;
}

/** The command: exit 1 (with file:line of each) when a secret is found, or when there was nothing to scan. */
function main(): void {
  const dir = process.argv[2] ?? testLogDir();
  if (!dir || !statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
    process.stderr.write(`scan-secrets: no log directory (pass one, or set COFFER_TEST_LOG_DIR)\n`);
    process.exit(2);
  }
  const result = scanForSecrets(dir, secretsOfEnvironment());
  for (const finding of result.findings) {
    process.stdout.write(
      `${shown(finding.file)}:${finding.line}: ${finding.label} (${finding.encoding})\n`,
    );
  }
  if (result.tooShort.length > 0) {
    process.stdout.write(
      `not scanned (shorter than ${MIN_SECRET_LENGTH}): ${result.tooShort.join(', ')}\n`,
    );
  }
  process.stdout.write(
    `scan-secrets: ${result.secrets} secrets, ${result.files} files, ${result.lines} lines: ${result.findings.length} found\n`,
  );
  if (result.findings.length > 0) process.exit(1);
  if (result.files === 0 || readLedger(dir).length === 0) {
    process.stderr.write(
      'scan-secrets: nothing was logged or no secret was listed: the capture did not run\n',
    );
    process.exit(1);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
