import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isMap, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import type { z } from 'zod';
import { Secret } from '../../lib/secret.js';
import { type BrokerConfig, brokerConfig, type SecretRef } from './schema.js';

export interface ConfigIssue {
  file: string;
  line: number;
  column: number;
  /** Key path such as `targets[1].access.max_duration`. */
  path: string;
  message: string;
}

/** A configuration that cannot be used; each issue names file, line, column and key path. */
export class ConfigError extends Error {
  readonly code = 'config_invalid';
  readonly issues: ConfigIssue[];
  constructor(issues: ConfigIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.name = new.target.name;
    this.issues = issues;
  }
}

export function formatIssue(i: ConfigIssue): string {
  return `${i.file}:${i.line}:${i.column}: ${i.path ? `${i.path}: ` : ''}${i.message}`;
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}

/** A validated configuration whose secret references were all resolved at load time. */
export interface LoadedConfig {
  file: string;
  config: BrokerConfig;
  /** The value behind a `{ env }`/`{ file }` reference of this config. */
  secret(ref: SecretRef): Secret;
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
}

/** Parses, validates and resolves secrets; throws ConfigError (never a raw YAML or zod error). */
export function loadConfig(file: string, options: LoadOptions = {}): LoadedConfig {
  const config = loadConfigFile(file);
  return withSecrets(config, file, options);
}

/** Resolves every secret reference in a parsed config, collecting all failures into one ConfigError. */
export function withSecrets(config: BrokerConfig, file: string, options: LoadOptions = {}): LoadedConfig {
  const resolved = new WeakMap<object, Secret>();
  const issues: ConfigIssue[] = [];
  const visit = (value: unknown, path: PropertyKey[]) => {
    if (Array.isArray(value)) {
      for (const [i, v] of value.entries()) visit(v, [...path, i]);
    } else if (value && typeof value === 'object') {
      const keys = Object.keys(value);
      if (
        keys.length === 1 &&
        (keys[0] === 'env' || keys[0] === 'file') &&
        typeof (value as Record<string, unknown>)[keys[0]] === 'string'
      ) {
        try {
          resolved.set(
            value,
            resolveSecret(value as SecretRef, { file, path: formatPath(path), env: options.env }),
          );
        } catch (err) {
          if (err instanceof ConfigError)
            issues.push(...err.issues.map((i) => ({ ...i, ...lineOf(file, path) })));
          else throw err;
        }
        return;
      }
      for (const [k, v] of Object.entries(value)) visit(v, [...path, k]);
    }
  };
  visit(config, []);
  if (issues.length > 0) throw new ConfigError(issues);
  return {
    file,
    config,
    secret(ref) {
      const s = resolved.get(ref);
      if (!s) throw new Error('secret reference does not belong to this configuration');
      return s;
    },
  };
}

function lineOf(file: string, path: PropertyKey[]): { line: number; column: number } {
  try {
    const lc = new LineCounter();
    const doc = parseDocument(readFileSync(file, 'utf8'), { lineCounter: lc });
    const { node, keyNode } = nodeAt(doc.contents, path);
    const r = (keyNode ?? node)?.range;
    if (r) {
      const p = lc.linePos(r[0]);
      return { line: p.line, column: p.col };
    }
  } catch {
    // The file was readable a moment ago; without it the issue keeps line 0.
  }
  return { line: 0, column: 0 };
}

/** Parses and validates a config file; throws ConfigError (never a raw YAML or zod error). */
export function loadConfigFile(file: string): BrokerConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new ConfigError([
      {
        file,
        line: 0,
        column: 0,
        path: '',
        message: `cannot read the configuration (${e.code ?? e.message})`,
      },
    ]);
  }
  return parseConfig(text, file);
}

export function parseConfig(text: string, file = '<config>'): BrokerConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => {
        const pos = lineCounter.linePos(e.pos[0]);
        return {
          file,
          line: pos.line,
          column: pos.col,
          path: '',
          message: `YAML syntax error: ${e.message.split('\n')[0]}`,
        };
      }),
    );
  }
  const raw = doc.toJS() ?? {};
  const result = brokerConfig.safeParse(raw);
  if (result.success) return result.data;
  throw new ConfigError(result.error.issues.map((issue) => toIssue(issue, doc.contents, lineCounter, file)));
}

function toIssue(issue: z.core.$ZodIssue, root: unknown, lc: LineCounter, file: string): ConfigIssue {
  let path = [...issue.path];
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!;
    path = [...path, key];
    message = `unknown key "${key}"${issue.keys.length > 1 ? ` (also: ${issue.keys.slice(1).join(', ')})` : ''}`;
  } else if (issue.code === 'invalid_type') {
    const found = describe(getAt(root, path));
    message =
      found === 'nothing'
        ? `missing required key (expected ${issue.expected})`
        : `expected ${issue.expected}, got ${found}`;
  }
  const { node, keyNode } = nodeAt(root, path);
  const range =
    (issue.code === 'unrecognized_keys' ? keyNode : node)?.range ?? keyNode?.range ?? parentRange(root, path);
  const pos = range ? lc.linePos(range[0]) : { line: 1, col: 1 };
  return { file, line: pos.line, column: pos.col, path: formatPath(path), message };
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}

function getAt(node: unknown, path: readonly PropertyKey[]): unknown {
  const { node: n } = nodeAt(node, path);
  return n ? ((n as { toJSON?: () => unknown }).toJSON?.() ?? (n as { value?: unknown }).value) : undefined;
}

/** Finds the YAML node (and its key node) at a path; missing keys resolve to their parent. */
function nodeAt(root: unknown, path: readonly PropertyKey[]): { node?: Node; keyNode?: Node } {
  let cur = root as Node | undefined;
  let keyNode: Node | undefined;
  for (const p of path) {
    if (isMap(cur)) {
      const pair = cur.items.find((it) => (it.key as { value?: unknown })?.value === p);
      if (!pair) return { keyNode: undefined, node: undefined };
      keyNode = pair.key as Node;
      cur = pair.value as Node | undefined;
    } else if (isSeq(cur) && typeof p === 'number') {
      cur = cur.items[p] as Node | undefined;
      keyNode = cur;
    } else return { node: undefined, keyNode: undefined };
  }
  return { node: cur, keyNode };
}

function parentRange(root: unknown, path: readonly PropertyKey[]): [number, number, number] | undefined {
  for (let i = path.length - 1; i >= 0; i--) {
    const { node, keyNode } = nodeAt(root, path.slice(0, i));
    const r = (keyNode ?? node)?.range;
    if (r) return r;
  }
  return (root as Node | undefined)?.range ?? undefined;
}

/**
 * Resolves every `{ env }` / `{ file }` reference of a config into a `Secret`. Missing variables
 * and unreadable files are ConfigErrors naming the key; the value itself is never printed.
 */
export function resolveSecret(
  ref: SecretRef,
  opts: { file: string; path: string; env?: NodeJS.ProcessEnv },
): Secret {
  const env = opts.env ?? process.env;
  if ('env' in ref) {
    const v = env[ref.env];
    if (v === undefined || v === '') {
      throw new ConfigError([
        {
          file: opts.file,
          line: 0,
          column: 0,
          path: opts.path,
          message: `environment variable ${ref.env} is not set (it holds this secret)`,
        },
      ]);
    }
    return new Secret(v, `env:${ref.env}`);
  }
  const path = resolve(dirname(opts.file), ref.file);
  try {
    return new Secret(readFileSync(path, 'utf8').replace(/\r?\n$/, ''), `file:${path}`);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new ConfigError([
      {
        file: opts.file,
        line: 0,
        column: 0,
        path: opts.path,
        message: `cannot read secret file ${path} (${e.code ?? e.message})`,
      },
    ]);
  }
}
