import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadConfig } from '../src/broker/config/load.js';
import { webhookNotifier } from '../src/broker/notify.js';
import { type Broker, createLogger, startBroker } from '../src/broker/server.js';

async function issueTokenFor(b: Broker, id: string, groups: string[]): Promise<string> {
  const { token } = await b.ctx.tokens.issue({ id, kind: 'human', groups }, 3_600_000);
  return token;
}

const target = {
  name: 'prod-db',
  kind: 'postgres',
  address: '127.0.0.1:5432',
  database: 'app',
  credentials: { username: 'app' },
  access: { groups: ['engineers'], approval: { approvers: ['dba-oncall'] } },
};

interface Receiver {
  url: string;
  bodies: any[];
  attempts: number;
  server: Server;
}

async function receiver(
  answer: (attempt: number, req: IncomingMessage, res: ServerResponse) => void,
): Promise<Receiver> {
  const r: Receiver = { url: '', bodies: [], attempts: 0, server: createServer() };
  r.server.on('request', (req, res) => {
    let data = '';
    req.on('data', (d) => {
      data += d;
    });
    req.on('end', () => {
      r.attempts++;
      r.bodies.push({ status: null, body: JSON.parse(data), contentType: req.headers['content-type'] });
      answer(r.attempts, req, res);
    });
  });
  await new Promise<void>((ok) => r.server.listen(0, '127.0.0.1', ok));
  // A Slack-style URL: the path is the secret and must never be logged.
  r.url = `http://127.0.0.1:${(r.server.address() as AddressInfo).port}/services/T000/B000/s3cr3tPathPart`;
  return r;
}

async function broker(webhookUrl: string) {
  const dir = mkdtempSync(join(tmpdir(), 'gatectl-webhook-'));
  const file = join(dir, 'broker.yaml');
  writeFileSync(
    file,
    stringify({
      store: `sqlite://${join(dir, 'b.db')}`,
      notify: { webhook_url: webhookUrl },
      targets: [target],
    }),
  );
  const logs = new PassThrough();
  let logText = '';
  logs.on('data', (d) => {
    logText += d;
  });
  const b = await startBroker({
    loaded: loadConfig(file),
    logger: createLogger('info', logs),
    listen: { host: '127.0.0.1', port: 0 },
  });
  return {
    b,
    logs: () => logText,
    async close() {
      await b.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function call(url: string, token: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

async function until(check: () => boolean, ms = 10_000) {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('webhook notifications', () => {
  it('posts Slack-compatible JSON on request and decision, retrying a receiver that fails first', async () => {
    const rx = await receiver((n, _req, res) => {
      res.statusCode = n === 1 ? 500 : 200;
      res.end(n === 1 ? 'boom' : 'ok');
    });
    const s = await broker(rx.url);
    try {
      const alice = await issueTokenFor(s.b, 'alice@example.com', ['engineers']);
      const bob = await issueTokenFor(s.b, 'bob@example.com', ['dba-oncall']);
      const id = (
        await call(s.b.url, alice, 'POST', '/v1/grants', { target: 'prod-db', reason: 'incident 9' })
      ).body.grant.id;
      await until(() => rx.attempts >= 2);
      expect(rx.bodies[0].body).toEqual(rx.bodies[1].body);
      expect(rx.bodies[1].contentType).toBe('application/json');
      expect(rx.bodies[1].body).toMatchObject({
        event: 'grant.requested',
        actor: 'alice@example.com',
        grant: {
          id,
          target: 'prod-db',
          identity: 'alice@example.com',
          state: 'pending',
          reason: 'incident 9',
        },
      });
      expect(rx.bodies[1].body.text).toContain(`gatectl approve ${id}`);

      await call(s.b.url, bob, 'POST', `/v1/grants/${id}/approve`, { comment: 'go' });
      await until(() => rx.attempts >= 3);
      expect(rx.bodies[2].body).toMatchObject({
        event: 'grant.approved',
        actor: 'bob@example.com',
        comment: 'go',
        grant: { id, state: 'approved', approvals: 1, approvals_required: 1 },
      });
      expect(rx.bodies[2].body.text).toMatch(
        /bob@example.com approved alice@example.com’s access to prod-db/,
      );
      expect(s.logs()).toContain('webhook delivery failed; retrying');
      expect(s.logs()).toContain('webhook delivered after retries');
      expect(s.logs()).not.toContain('s3cr3tPathPart');
    } finally {
      await s.close();
      rx.server.close();
    }
  });

  it('a receiver that always fails or hangs never blocks a decision; failures are logged without the URL', async () => {
    const rx = await receiver((_n, _req, res) => {
      res.statusCode = 503;
      res.end();
    });
    const s = await broker(rx.url);
    const hanging = await receiver(() => {});
    try {
      const notifier = webhookNotifier(s.b.ctx, { backoffMs: [50, 100], attemptTimeoutMs: 2000 })!;
      const alice = await issueTokenFor(s.b, 'alice@example.com', ['engineers']);
      const bob = await issueTokenFor(s.b, 'bob@example.com', ['dba-oncall']);
      const id = (await call(s.b.url, alice, 'POST', '/v1/grants', { target: 'prod-db' })).body.grant.id;
      const denied = await call(s.b.url, bob, 'POST', `/v1/grants/${id}/deny`, { reason: 'not now' });
      expect(denied.status).toBe(200);
      expect(denied.body.grant.state).toBe('denied');
      await notifier.drain();
      expect(rx.attempts).toBe(6); // two events × (1 try + 2 retries)
      expect(s.logs()).toContain('webhook delivery failed; giving up');
      expect(s.logs()).toContain(`"webhook":"${new URL(rx.url).origin}"`);
      expect(s.logs()).not.toContain('s3cr3tPathPart');
    } finally {
      await s.close();
      rx.server.close();
    }

    // A receiver that accepts the connection and never answers: the decision returns regardless.
    const h = await broker(hanging.url);
    try {
      webhookNotifier(h.b.ctx, { backoffMs: [], attemptTimeoutMs: 30_000 });
      const alice = await issueTokenFor(h.b, 'alice@example.com', ['engineers']);
      const bob = await issueTokenFor(h.b, 'bob@example.com', ['dba-oncall']);
      const id = (await call(h.b.url, alice, 'POST', '/v1/grants', { target: 'prod-db' })).body.grant.id;
      await until(() => hanging.attempts >= 1);
      const approved = await call(h.b.url, bob, 'POST', `/v1/grants/${id}/approve`, {});
      expect(approved.body.grant.state).toBe('approved');
    } finally {
      await h.close();
      hanging.server.closeAllConnections();
      hanging.server.close();
    }
  });
});
