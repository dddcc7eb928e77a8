import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { scanForSecrets } from './scan-secrets';
import { LEDGER_FILE, type LedgerEntry } from './secrets';

/** The scan finds a listed secret in every encoding a log line might use, and says where. */

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function logDir(ledger: LedgerEntry[], files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'scan-secrets-'));
  dirs.push(dir);
  writeFileSync(join(dir, LEDGER_FILE), ledger.map((entry) => JSON.stringify(entry)).join('\n'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const PASSWORD = 'Pw-3f9c2a7d41e0b6c8';
const KEY = Buffer.from('9d3c1f0e7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d', 'hex');
const clean = '{"level":20,"msg":"user created","user":"app_user","password":"[redacted]"}\n';

describe('scan-secrets', () => {
  it('finds nothing in clean logs', () => {
    const dir = logDir([{ label: 'tenant password', value: PASSWORD }], {
      'worker-1.log': clean.repeat(50),
    });
    const result = scanForSecrets(dir);
    expect(result).toMatchObject({ findings: [], files: 1, secrets: 1 });
  });

  it.each([
    ['as is', (s: string) => `{"msg":"connect","password":"${s}"}`],
    ['JSON-escaped', () => `{"msg":${JSON.stringify('a"b\\c' + PASSWORD.replace('-', '"'))}}`],
    ['URL-encoded', (s: string) => `{"url":"mysql://u:${encodeURIComponent(s + '/@')}@h/db"}`],
    [
      'base64, embedded at any alignment',
      (s: string) => `{"blob":"${Buffer.from(`xy${s}zz`).toString('base64')}"}`,
    ],
    ['base64url', (s: string) => `{"b":"${Buffer.from(`?${s}`).toString('base64url')}"}`],
    ['hex', (s: string) => `{"h":"00${Buffer.from(s).toString('hex')}ff"}`],
  ])('finds a password written %s, with file and line', (_how, write) => {
    const secret = _how === 'JSON-escaped' ? 'a"b\\c' + PASSWORD.replace('-', '"') : PASSWORD;
    const dir = logDir([{ label: 'tenant password', value: secret }], {
      'guest-7.log': `${clean}${clean}${write(secret)}\n${clean}`,
    });
    const { findings } = scanForSecrets(dir);
    expect(findings.map(({ file, line, label }) => ({ file, line, label }))).toEqual([
      { file: join(dir, 'guest-7.log'), line: 3, label: 'tenant password' },
    ]);
  });

  it('finds a key listed as bytes in hex, base64 and base64url, and a hex secret as its bytes in base64', () => {
    const dir = logDir(
      [
        { label: 'backup key', base64: KEY.toString('base64') },
        { label: 'replication password', value: KEY.toString('hex').toUpperCase() },
      ],
      {
        'a.log': `{"k":"${KEY.toString('hex')}"}\n{"k":"${KEY.toString('base64url')}"}\n`,
        'b.log': `${clean}{"k":"${KEY.toString('base64')}"}\n`,
      },
    );
    const found = scanForSecrets(dir).findings.map(
      ({ file, line }) => `${file.slice(dir.length + 1)}:${line}`,
    );
    expect(new Set(found)).toEqual(new Set(['a.log:1', 'a.log:2', 'b.log:2']));
  });

  it('does not look for secrets too short to tell from chance, and says so', () => {
    const dir = logDir([{ label: 'pin', value: 'abc' }], { 'x.log': '{"abc":1}\n' });
    expect(scanForSecrets(dir)).toMatchObject({ findings: [], secrets: 0, tooShort: ['pin'] });
  });
});
