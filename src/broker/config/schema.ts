import { isIP } from 'node:net';
import { z } from 'zod';
import { parseDuration } from '../../lib/duration.js';

/**
 * The broker configuration (DESIGN §4). Every object is strict: an unknown key is an error
 * that names the file, line and key, never silently ignored.
 */

/** `{ env: NAME }` or `{ file: PATH }`; resolved at start, never printed. */
export const secretRef = z.union([
  z.strictObject({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name') }),
  z.strictObject({ file: z.string().min(1) }),
]);
export type SecretRef = z.infer<typeof secretRef>;

export const duration = z
  .string({ error: 'expected a duration such as 30m, 1h or 2d' })
  .refine((s) => parseDuration(s) !== null, {
    error: (issue) => `expected a duration such as 30m, 1h or 2d, got ${JSON.stringify(issue.input)}`,
  })
  .transform((s) => parseDuration(s)!);

export const listenAddress = z.string().refine(
  (s) => {
    const m = /^(\[[0-9a-fA-F:]+\]|[^:]+):(\d{1,5})$/.exec(s);
    if (!m) return false;
    const port = Number(m[2]);
    if (port > 65535) return false;
    const host = m[1]!.replace(/^\[|\]$/g, '');
    return isIP(host) !== 0 || host === 'localhost';
  },
  { message: 'expected host:port with an IP address or localhost and a port 0–65535, e.g. 127.0.0.1:7420' },
);

const hostPort = z.string().regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9._-]+):\d{1,5}$/, 'expected host:port');

const groupRule = z.strictObject({
  when: z.record(z.string(), z.union([z.string(), z.array(z.string())])),
  add: z.array(z.string()).min(1),
});

export const machineIssuer = z.strictObject({
  issuer: z.url(),
  audience: z.string().min(1),
  /** When the issuer's JWKS is not at its discovery document (tests, air-gapped mirrors). */
  jwks_uri: z.url().optional(),
  /** Template over claims, e.g. `ci:{repository}`. */
  identity: z.string().min(1),
  groups: z.array(groupRule).default([]),
  /** A claim whose values are taken as groups as they are, in addition to the rules (dev issuers). */
  groups_claim: z.string().optional(),
});

export const oidc = z.strictObject({
  issuer: z.url(),
  client_id: z.string().min(1),
  client_secret: secretRef.optional(),
  scopes: z.array(z.string()).default(['openid', 'profile', 'email', 'offline_access']),
  /** Audience expected in ID tokens; defaults to client_id. */
  audience: z.string().optional(),
  identity_claim: z.string().default('email'),
  groups_claim: z.string().default('groups'),
});

const statementRule = z.strictObject({
  when: z.strictObject({
    kind: z.array(z.string()).optional(),
    tables: z.array(z.string()).optional(),
    columns: z.array(z.string()).optional(),
    functions: z.array(z.string()).optional(),
  }),
  action: z.enum(['allow', 'approve', 'deny']),
});

const maskMode = z.enum(['show_last4', 'redact', 'none']);

function bothNumbers(a: unknown, b: unknown): boolean {
  return typeof a === 'number' && typeof b === 'number';
}

export const postgresTarget = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'lower-case letters, digits, - and _'),
  kind: z.literal('postgres'),
  description: z.string().optional(),
  address: hostPort,
  database: z.string().min(1),
  tls: z
    .strictObject({
      mode: z.enum(['disable', 'require', 'verify-full']).default('verify-full'),
      ca_file: z.string().optional(),
      server_name: z.string().optional(),
    })
    .prefault({ mode: 'disable' }),
  credentials: z.strictObject({
    username: z.string().min(1),
    password: secretRef.optional(),
  }),
  access: z
    .strictObject({
      /** Groups that may request a grant. */
      groups: z.array(z.string()).min(1),
      /** Groups whose requests are granted without a human. */
      auto_approve: z.array(z.string()).default([]),
      approval: z
        .strictObject({
          approvers: z.array(z.string()).min(1),
          min_approvals: z.number().int().min(1).default(1),
        })
        .optional(),
      max_duration: duration.prefault('4h'),
      default_duration: duration.prefault('1h'),
    })
    // Only meaningful once both durations parsed; otherwise their own errors say enough.
    .refine((a) => !bothNumbers(a.default_duration, a.max_duration) || a.default_duration <= a.max_duration, {
      message: 'default_duration must not exceed max_duration',
      path: ['default_duration'],
    }),
  statements: z.array(statementRule).default([]),
  masking: z
    .strictObject({
      card_numbers: maskMode.default('show_last4'),
      columns: z.record(z.string(), maskMode).default({}),
    })
    .prefault({}),
  recording: z
    .strictObject({
      results: z.enum(['none', 'masked']).default('none'),
      max_rows_per_query: z.number().int().min(0).default(100),
    })
    .prefault({}),
  /** Largest protocol message accepted from either side, in bytes. */
  max_message_size: z
    .number()
    .int()
    .min(1024)
    .default(64 * 1024 * 1024),
});

export const sshTarget = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'lower-case letters, digits, - and _'),
  kind: z.literal('ssh'),
  description: z.string().optional(),
  address: hostPort,
  credentials: z.strictObject({ username: z.string().min(1), private_key: secretRef }),
  access: postgresTarget.shape.access,
});

export const target = z.discriminatedUnion('kind', [postgresTarget, sshTarget], {
  error: (issue) =>
    issue.code === 'invalid_union' ? 'unknown target kind: expected one of postgres, ssh' : undefined,
});

export const brokerConfig = z
  .strictObject({
    listen: listenAddress.default('127.0.0.1:7420'),
    /** URL clients use to reach this broker, when it differs from `listen` (a proxy, a DNS name). */
    public_url: z.url().optional(),
    tls: z.strictObject({ cert: z.string().min(1), key: z.string().min(1) }).optional(),
    store: z
      .string()
      .regex(/^(sqlite:|postgres:|postgresql:)/, 'expected sqlite:///path/to/file.db or postgres://…')
      .default('sqlite://./gatectl-broker.db'),
    log: z.strictObject({ level: z.enum(['debug', 'info', 'warn', 'error']).default('info') }).prefault({}),
    auth: z
      .strictObject({
        oidc: oidc.optional(),
        machine_issuers: z.array(machineIssuer).default([]),
        session: z
          .strictObject({
            ttl: duration.prefault('8h'),
            /** PKCS#8 PEM Ed25519 key; when absent one is generated and kept in the store. */
            signing_key: secretRef.optional(),
          })
          .prefault({}),
      })
      .prefault({}),
    approvals: z.strictObject({ request_ttl: duration.prefault('1h') }).prefault({}),
    notify: z
      .strictObject({
        webhook_url: z.url().optional(),
      })
      .prefault({}),
    audit: z
      .strictObject({
        retention_days: z.number().int().min(1).default(365),
        signing_key: secretRef.optional(),
      })
      .prefault({}),
    targets: z.array(target).default([]),
  })
  .superRefine((cfg, ctx) => {
    const seen = new Map<string, number>();
    cfg.targets.forEach((t, i) => {
      const first = seen.get(t.name);
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['targets', i, 'name'],
          message: `duplicate target name "${t.name}" (first defined at targets[${first}])`,
        });
      } else seen.set(t.name, i);
    });
  });

export type BrokerConfigInput = z.input<typeof brokerConfig>;
export type BrokerConfig = z.output<typeof brokerConfig>;
export type TargetConfig = BrokerConfig['targets'][number];
export type PostgresTargetConfig = z.output<typeof postgresTarget>;
export type MachineIssuerConfig = z.output<typeof machineIssuer>;
