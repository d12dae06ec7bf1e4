import { describe, expect, it } from 'vitest';
import { createScramVerifier, parseScramVerifier, ScramError, ScramServer } from './scram.js';
import { ScramClient } from './scram-client.js';

describe('SCRAM-SHA-256', () => {
  it('creates verifiers in PostgreSQL stored form with a fresh salt', () => {
    const v = createScramVerifier('s3cret');
    expect(v).toMatch(/^SCRAM-SHA-256\$4096:[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=:[A-Za-z0-9+/]{43}=$/);
    expect(createScramVerifier('s3cret')).not.toBe(v);
    expect(v).not.toContain('s3cret');
  });

  it('accepts the right secret and proves the server to the client', async () => {
    const server = new ScramServer(parseScramVerifier(createScramVerifier('right')));
    const client = new ScramClient('right');
    const serverFirst = server.first(client.first());
    const serverFinal = server.final(await client.final(serverFirst));
    expect(() => client.verify(serverFinal)).not.toThrow();
  });

  it('refuses a wrong secret with a proof error', async () => {
    const server = new ScramServer(parseScramVerifier(createScramVerifier('right')));
    const client = new ScramClient('wrong');
    const serverFirst = server.first(client.first());
    const clientFinal = await client.final(serverFirst);
    expect(() => server.final(clientFinal)).toThrow(ScramError);
    try {
      server.final(clientFinal);
    } catch (err) {
      expect((err as ScramError).code).toBe('proof');
    }
  });

  it('refuses a nonce the server did not issue and channel binding it did not offer', async () => {
    const server = new ScramServer(parseScramVerifier(createScramVerifier('x')));
    expect(() => server.first('p=tls-server-end-point,,n=,r=abc')).toThrow(/channel binding/);
    server.first('n,,n=,r=abc');
    expect(() => server.final('c=biws,r=abcforged,p=AAAA')).toThrow(/nonce/);
  });

  it('a client refuses a server that cannot prove the verifier', async () => {
    const server = new ScramServer(parseScramVerifier(createScramVerifier('one')));
    const client = new ScramClient('one');
    const serverFirst = server.first(client.first());
    await client.final(serverFirst);
    expect(() => client.verify(`v=${Buffer.alloc(32).toString('base64')}`)).toThrow(ScramError);
  });
});
