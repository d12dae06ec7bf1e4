import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './support/cli.js';
import { selfSignedCertificate } from './support/self-signed.js';

/**
 * Each configuration mistake the broker must reject, checked through the real CLI: the message
 * names the file, the line and the key path, says what was expected, and both `broker check`
 * and `broker start` exit 2 (a configuration mistake is a usage error) without a stack trace.
 */

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'gatectl-config-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const target = (name: string, extra = '') => `  - name: ${name}
    kind: postgres
    address: 127.0.0.1:5432
    database: app
    credentials:
      username: app
    access:
      groups: [engineers]
${extra}`;

interface Case {
  name: string;
  yaml: string;
  env?: Record<string, string>;
  line: number;
  path: string;
  message: RegExp;
}

const cases: Case[] = [
  {
    name: 'unknown key',
    yaml: `listen: 127.0.0.1:0\nstore: sqlite://./b.db\ntargets:\n${target('db1', '    colour: blue\n')}`,
    line: 12,
    path: 'targets[0].colour',
    message: /unknown key "colour"/,
  },
  {
    name: 'wrong type',
    yaml: `listen: 127.0.0.1:0\naudit:\n  retention_days: a year\n`,
    line: 3,
    path: 'audit.retention_days',
    message: /expected number, got string "a year"/,
  },
  {
    name: 'missing required field',
    yaml: `targets:\n  - name: db1\n    kind: postgres\n    address: 127.0.0.1:5432\n    credentials:\n      username: app\n    access:\n      groups: [engineers]\n`,
    line: 2,
    path: 'targets[0].database',
    message: /missing required key \(expected string\)/,
  },
  {
    name: 'duplicate target name',
    yaml: `targets:\n${target('db1')}${target('db1')}`,
    line: 10,
    path: 'targets[1].name',
    message: /duplicate target name "db1" \(first defined at targets\[0\]\)/,
  },
  {
    name: 'duplicate target name next to another invalid target',
    yaml: `targets:\n${target('db1', '    nonsense: 1\n')}${target('db1')}`,
    line: 11,
    path: 'targets[1].name',
    message: /duplicate target name "db1"/,
  },
  {
    name: 'unknown target kind',
    yaml: `targets:\n  - name: db1\n    kind: mongodb\n    address: 127.0.0.1:27017\n`,
    line: 3,
    path: 'targets[0].kind',
    message: /unknown target kind: expected one of postgres, ssh/,
  },
  {
    name: 'malformed duration',
    yaml: `targets:\n${target('db1', '      max_duration: 4 hours\n')}`,
    line: 10,
    path: 'targets[0].access.max_duration',
    message: /expected a duration such as 30m, 1h or 2d, got "4 hours"/,
  },
  {
    name: 'missing environment secret',
    yaml: `targets:\n  - name: db1\n    kind: postgres\n    address: 127.0.0.1:5432\n    database: app\n    credentials:\n      username: app\n      password: { env: GATECTL_TEST_UNSET_PASSWORD }\n    access:\n      groups: [engineers]\n`,
    line: 8,
    path: 'targets[0].credentials.password',
    message: /environment variable GATECTL_TEST_UNSET_PASSWORD is not set/,
  },
  {
    name: 'unreadable secret file',
    yaml: `auth:\n  session:\n    signing_key: { file: ./missing-signing-key.pem }\n`,
    line: 3,
    path: 'auth.session.signing_key',
    message: /cannot read secret file .*missing-signing-key\.pem \(ENOENT\)/,
  },
  {
    name: 'invalid listen address',
    yaml: `listen: 127.0.0.1:99999\n`,
    line: 1,
    path: 'listen',
    message: /expected host:port with an IP address or localhost and a port 0–65535/,
  },
  {
    name: 'invalid listen address (a host name)',
    yaml: `store: sqlite://./b.db\nlisten: broker.example.com:7420\n`,
    line: 2,
    path: 'listen',
    message: /expected host:port/,
  },
  {
    name: 'YAML syntax error',
    yaml: `listen: 127.0.0.1:0\ntargets:\n  - name: "db1\n    kind: postgres\n`,
    line: 5,
    path: 'targets[0].name',
    message: /YAML syntax error: Missing closing "quote/,
  },
  {
    name: 'YAML duplicate key',
    yaml: `listen: 127.0.0.1:0\nstore: sqlite://./b.db\nlisten: 127.0.0.1:1\n`,
    line: 3,
    path: 'listen',
    message: /YAML syntax error: Map keys must be unique/,
  },
];

describe('broker configuration mistakes', () => {
  it.each(cases)('$name: check and start name file, line and key, exit 2', async (c) => {
    const file = join(dir, `${c.name.replace(/\W+/g, '-')}.yaml`);
    writeFileSync(file, c.yaml);
    const expected = `${file}:${c.line}:`;
    for (const verb of ['check', 'start']) {
      const r = await runCli(['broker', verb, '--config', file], { env: c.env, timeoutMs: 15_000 });
      expect(r.code, `${verb}: ${r.stderr}`).toBe(2);
      const line = r.stderr.split('\n').find((l) => l.startsWith(expected) && l.includes(`: ${c.path}: `));
      expect(line, `${verb} stderr:\n${r.stderr}`).toBeDefined();
      expect(line).toMatch(c.message);
      expect(r.stderr).toMatch(/^error: invalid configuration/m);
      expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+\)?\n/);
      expect(r.stdout).toBe('');
      // `start` refused before doing anything: no log line, no listening message.
      expect(r.stderr).not.toContain('listening');
    }
  });

  it('reports every mistake of a file in one run, in line order', async () => {
    const file = join(dir, 'many.yaml');
    writeFileSync(
      file,
      `listen: nowhere\ntargets:\n${target('db1', '      max_duration: soon\n')}  - name: db2\n    kind: ftp\n`,
    );
    const r = await runCli(['broker', 'check', '--config', file]);
    expect(r.code).toBe(2);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith(`${file}:`));
    expect(lines.map((l) => l.split(':').slice(1, 2)[0])).toEqual(['1', '11', '13']);
    expect(lines[0]).toContain(': listen: ');
    expect(lines[1]).toContain(': targets[0].access.max_duration: ');
    expect(lines[2]).toContain(': targets[1].kind: ');
    // A refinement over an already invalid field must not add a second, confusing error.
    expect(r.stderr).not.toContain('default_duration');
  });

  it('reports secrets that cannot be resolved even when the schema fails elsewhere', async () => {
    const file = join(dir, 'secret-and-schema.yaml');
    writeFileSync(
      file,
      `listen: 127.0.0.1:0\nbogus: 1\nauth:\n  session:\n    signing_key: { env: GATECTL_TEST_UNSET_KEY }\n`,
    );
    const r = await runCli(['broker', 'check', '--config', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${file}:2:1: bogus: unknown key "bogus"`);
    expect(r.stderr).toContain(
      `${file}:5:5: auth.session.signing_key: environment variable GATECTL_TEST_UNSET_KEY is not set`,
    );
  });

  it('never prints secret values, whether the configuration is valid or not', async () => {
    const envValue = 'env-secret-value-7f3a9c';
    const fileValue = 'file-secret-value-b41d2e';
    const secretFile = join(dir, 'db-password');
    writeFileSync(secretFile, `${fileValue}\n`, { mode: 0o600 });
    const valid = join(dir, 'valid-secrets.yaml');
    writeFileSync(
      valid,
      `store: sqlite://./v.db\ntargets:\n  - name: db1\n    kind: postgres\n    address: 127.0.0.1:5432\n    database: app\n    credentials:\n      username: app\n      password: { file: ./db-password }\n    access:\n      groups: [engineers]\n  - name: db2\n    kind: postgres\n    address: 127.0.0.1:5432\n    database: app\n    credentials:\n      username: app\n      password: { env: GATECTL_TEST_DB2_PASSWORD }\n    access:\n      groups: [engineers]\n`,
    );
    const ok = await runCli(['broker', 'check', '--config', valid], {
      env: { GATECTL_TEST_DB2_PASSWORD: envValue },
    });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).toContain('configuration is valid (2 targets');
    // The same file with a mistake elsewhere: the error output must not reveal either secret.
    const invalid = join(dir, 'invalid-secrets.yaml');
    writeFileSync(invalid, `${readFileSync(valid, 'utf8')}bogus: true\n`);
    const bad = await runCli(['broker', 'check', '--config', invalid], {
      env: { GATECTL_TEST_DB2_PASSWORD: envValue },
    });
    expect(bad.code).toBe(2);
    for (const out of [ok.stdout, ok.stderr, bad.stdout, bad.stderr]) {
      expect(out).not.toContain(envValue);
      expect(out).not.toContain(fileValue);
    }
  });

  it('names a secret file that exists but cannot be read', async () => {
    if (process.getuid?.() === 0) {
      // root reads any file regardless of its mode; a directory is unreadable as a file for everyone.
      const file = join(dir, 'secret-is-dir.yaml');
      writeFileSync(file, `auth:\n  session:\n    signing_key: { file: ${dir} }\n`);
      const r = await runCli(['broker', 'check', '--config', file]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(
        `${file}:3:5: auth.session.signing_key: cannot read secret file ${dir} (EISDIR)`,
      );
      return;
    }
    const secret = join(dir, 'unreadable');
    writeFileSync(secret, 'x');
    chmodSync(secret, 0o000);
    const file = join(dir, 'secret-unreadable.yaml');
    writeFileSync(file, `auth:\n  session:\n    signing_key: { file: ./unreadable }\n`);
    const r = await runCli(['broker', 'check', '--config', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `${file}:3:5: auth.session.signing_key: cannot read secret file ${secret} (EACCES)`,
    );
  });

  it('names a configuration file that does not exist', async () => {
    const file = join(dir, 'nope.yaml');
    const r = await runCli(['broker', 'check', '--config', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${file}: cannot read the configuration (ENOENT)`);
  });
  it("names TLS files that hold no certificate or key, and a key that is not the certificate's", async () => {
    const tls = (name: string) => join(dir, name);
    selfSignedCertificate(dir, { name: 'own' });
    const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
    writeFileSync(tls('other-key.pem'), other.export({ type: 'pkcs8', format: 'pem' }));
    // A key pasted where the certificate belongs, and the certificate where the key belongs.
    const swapped = join(dir, 'tls-swapped.yaml');
    writeFileSync(
      swapped,
      `listen: 127.0.0.1:0\nstore: sqlite://./b.db\ntls:\n  cert: ./own-key.pem\n  key: ./own.pem\n`,
    );
    const mismatched = join(dir, 'tls-mismatched.yaml');
    writeFileSync(
      mismatched,
      `listen: 127.0.0.1:0\nstore: sqlite://./b.db\ntls:\n  cert: ./own.pem\n  key: ./other-key.pem\n`,
    );
    const matching = join(dir, 'tls-matching.yaml');
    writeFileSync(
      matching,
      `listen: 127.0.0.1:0\nstore: sqlite://./b.db\ntls:\n  cert: ./own.pem\n  key: ./own-key.pem\n`,
    );
    const keyBody = readFileSync(tls('own-key.pem'), 'utf8').split('\n')[1]!;
    for (const verb of ['check', 'start']) {
      const a = await runCli(['broker', verb, '--config', swapped]);
      expect(a.code, a.stderr).toBe(2);
      expect(a.stderr).toContain(`${swapped}:4:3: tls.cert: ${tls('own-key.pem')} holds no PEM certificate`);
      expect(a.stderr).toContain(`${swapped}:5:3: tls.key: ${tls('own.pem')} holds no PEM private key`);
      // The key's content is never echoed.
      expect(a.stderr).not.toContain(keyBody);
      const b = await runCli(['broker', verb, '--config', mismatched]);
      expect(b.code, b.stderr).toBe(2);
      expect(b.stderr).toContain(
        `${mismatched}:5:3: tls.key: the key in ${tls('other-key.pem')} does not belong to the certificate of tls.cert`,
      );
    }
    // The pair that belongs together passes.
    const ok = await runCli(['broker', 'check', '--config', matching]);
    expect(ok.code, ok.stderr).toBe(0);
  });
});
