import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCertificates {
  dir: string;
  caFile: string;
  /** A CA that did not sign the server certificate. */
  otherCaFile: string;
  certFile: string;
  keyFile: string;
  /** `-c` settings that turn TLS on in a test PostgreSQL with these files. */
  settings: Record<string, string>;
  cleanup(): void;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** The uid/gid PostgreSQL runs as when the tests run as root (see test/support/postgres.ts). */
function postgresIds(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  const id = (flag: string) => spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' });
  if (id('-u').status !== 0) {
    spawnSync('groupadd', ['postgres']);
    execFileSync('useradd', ['-g', 'postgres', 'postgres']);
  }
  return { uid: Number(id('-u').stdout.trim()), gid: Number(id('-g').stdout.trim()) };
}

/**
 * A throwaway CA and a server certificate for `localhost` and `127.0.0.1`, made with the openssl
 * CLI. PostgreSQL refuses a key readable by others, so the key is 0600 and owned by the server's
 * user.
 */
export function makeCertificates(): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), 'gatectl-tls-'));
  chmodSync(dir, 0o755);
  const days = ['-days', '2'];
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      ...days,
      '-subj',
      '/CN=gatectl test CA',
    ],
    dir,
  );
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'other.key',
      '-out',
      'other.crt',
      ...days,
      '-subj',
      '/CN=gatectl other CA',
    ],
    dir,
  );
  openssl(
    [
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'server.key',
      '-out',
      'server.csr',
      '-subj',
      '/CN=localhost',
    ],
    dir,
  );
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  openssl(
    [
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'server.crt',
      ...days,
      '-extfile',
      'ext.cnf',
    ],
    dir,
  );
  const keyFile = join(dir, 'server.key');
  const certFile = join(dir, 'server.crt');
  chmodSync(keyFile, 0o600);
  chmodSync(certFile, 0o644);
  const ids = postgresIds();
  if (ids) chownSync(keyFile, ids.uid, ids.gid);
  return {
    dir,
    caFile: join(dir, 'ca.crt'),
    otherCaFile: join(dir, 'other.crt'),
    certFile,
    keyFile,
    settings: { ssl: 'on', ssl_cert_file: certFile, ssl_key_file: keyFile },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
