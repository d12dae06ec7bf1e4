import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { CredentialStore, type StoredLogin } from './credential-store.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function fileStore() {
  const dir = mkdtempSync(join(tmpdir(), 'gatectl-creds-'));
  dirs.push(dir);
  const stderr = new PassThrough();
  let said = '';
  stderr.on('data', (d) => {
    said += String(d);
  });
  // GATECTL_NO_KEYRING: never touch the keychain of the machine running the tests.
  const store = new CredentialStore({ dir, env: { GATECTL_NO_KEYRING: '1' }, stderr });
  return { dir, store, said: () => said };
}

const login: StoredLogin = {
  broker: 'https://broker.example.com',
  token: 'eyJ.broker.token',
  expires_at: '2030-01-01T00:00:00Z',
  identity: 'alice@example.com',
  groups: ['engineers'],
  refresh_token: 'refresh-secret',
  issuer: 'https://idp.example.com',
  client_id: 'gatectl-cli',
};

describe('CredentialStore file fallback', () => {
  it('stores per profile in a 0600 file, says so once, and never prints a token', async () => {
    const { store, said } = fileStore();
    expect(await store.save('default', login)).toBe('file');
    expect(await store.save('staging', { ...login, broker: 'https://staging.example.com' })).toBe('file');
    expect(statSync(store.file).mode & 0o777).toBe(0o600);
    expect(said().match(/No OS keychain is available/g)).toHaveLength(1);
    expect(said()).not.toContain(login.token);
    expect(said()).not.toContain('refresh-secret');
    expect(await store.load('default')).toEqual({ login, location: 'file' });
    expect((await store.load('staging'))?.login.broker).toBe('https://staging.example.com');
  });

  it('stays silent on a renewal save', async () => {
    const { store, said } = fileStore();
    await store.save('default', login, { notice: false });
    expect(said()).toBe('');
  });

  it('removes one profile, then the file when none is left', async () => {
    const { store } = fileStore();
    await store.save('default', login);
    await store.save('staging', login);
    await store.remove('default');
    expect(await store.load('default')).toBeNull();
    expect(JSON.parse(readFileSync(store.file, 'utf8')).profiles).toHaveProperty('staging');
    await store.remove('staging');
    expect(() => statSync(store.file)).toThrow();
  });
});
