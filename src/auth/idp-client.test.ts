import { describe, expect, it } from 'vitest';
import { IdpError, idpConfiguration, isLoopbackHost } from './idp-client.js';

describe('idpConfiguration', () => {
  it('refuses a plain-http issuer that is not on loopback, before any request', async () => {
    let called = false;
    const fetchSpy = (async () => {
      called = true;
      throw new Error('no request expected');
    }) as unknown as typeof fetch;
    await expect(
      idpConfiguration('http://idp.example.com', 'gatectl-cli', { fetch: fetchSpy }),
    ).rejects.toMatchObject({
      code: 'insecure_issuer',
    });
    await expect(
      idpConfiguration('http://10.0.0.5:8080', 'gatectl-cli', { fetch: fetchSpy }),
    ).rejects.toBeInstanceOf(IdpError);
    expect(called).toBe(false);
  });

  it('treats only loopback names as loopback', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '[::1]']) expect(isLoopbackHost(h)).toBe(true);
    for (const h of ['10.0.0.1', 'localhost.example.com', '128.0.0.1', 'example.com'])
      expect(isLoopbackHost(h)).toBe(false);
  });
});
