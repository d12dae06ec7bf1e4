import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { startDevCiIssuer } from '../src/auth/dev/dev-ci-issuer.js';
import { startIdentityStack } from './support/identity-stack.js';

async function exchange(url: string, idToken: string) {
  const res = await fetch(`${url}/v1/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ id_token: idToken }),
  });
  return { status: res.status, body: (await res.json()) as { error?: { code: string } } };
}

describe('issuer key rotation', () => {
  it('refetches the JWKS when a token names an unknown kid (after jose’s 30 s cooldown)', async () => {
    await using stack = await startIdentityStack();
    const before = await exchange(stack.broker.url, await stack.ci.sign({ repository: 'acme/payments' }));
    expect(before.status).toBe(200);

    // Rotate: the issuer restarts on the same port with a new key.
    const port = Number(new URL(stack.ci.issuer).port);
    await stack.ci.close();
    const stateFile = join(stack.dataDir, 'ci-issuer.json');
    const state = JSON.parse(readFileSync(stateFile, 'utf8'));
    delete state.key;
    writeFileSync(stateFile, JSON.stringify(state), { mode: 0o600 });
    const rotated = await startDevCiIssuer({ dataDir: stack.dataDir, port });
    try {
      expect(rotated.issuer).toBe(stack.ci.issuer);
      await sleep(31_000);
      const after = await exchange(stack.broker.url, await rotated.sign({ repository: 'acme/payments' }));
      expect(after.body.error).toBeUndefined();
      expect(after.status).toBe(200);
    } finally {
      await rotated.close();
    }
  }, 90_000);
});
