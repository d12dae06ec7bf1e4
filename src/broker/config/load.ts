import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { type Document, isMap, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
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
  const where = i.line > 0 ? `${i.file}:${i.line}:${i.column}` : i.file;
  return `${where}: ${i.path ? `${i.path}: ` : ''}${i.message}`;
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

/**
 * Parses, validates and resolves secrets; throws one ConfigError listing every mistake it
 * found (never a raw YAML or zod error).
 */
export function loadConfig(file: string, options: LoadOptions = {}): LoadedConfig {
  const parsed = parseConfigText(readConfigText(file), file);
  if (parsed.config) return withSecrets(parsed.config, file, options, parsed);
  // The schema failed: still report every secret that cannot be resolved, so one run of
  // `broker check` shows all mistakes. Nothing from these resolutions is kept.
  const secretIssues = parsed.raw === undefined ? [] : resolveAll(parsed.raw, file, options, parsed).issues;
  throw new ConfigError(sortIssues(dedupe([...parsed.issues, ...secretIssues])));
}

/** Resolves every secret reference in a parsed config, collecting all failures into one ConfigError. */
export function withSecrets(
  config: BrokerConfig,
  file: string,
  options: LoadOptions = {},
  source?: ParsedSource,
): LoadedConfig {
  const { resolved, issues } = resolveAll(config, file, options, source);
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

/** The YAML document a config came from, for locating keys. */
export interface ParsedSource {
  doc: Document.Parsed;
  lineCounter: LineCounter;
}

function isSecretRef(value: object): value is SecretRef {
  const keys = Object.keys(value);
  return (
    keys.length === 1 &&
    (keys[0] === 'env' || keys[0] === 'file') &&
    typeof (value as Record<string, unknown>)[keys[0]] === 'string'
  );
}

function resolveAll(
  config: unknown,
  file: string,
  options: LoadOptions,
  source?: ParsedSource,
): { resolved: WeakMap<object, Secret>; issues: ConfigIssue[] } {
  const resolved = new WeakMap<object, Secret>();
  const issues: ConfigIssue[] = [];
  const src = source ?? readSource(file);
  const visit = (value: unknown, path: PropertyKey[]) => {
    if (Array.isArray(value)) {
      for (const [i, v] of value.entries()) visit(v, [...path, i]);
    } else if (value && typeof value === 'object') {
      if (isSecretRef(value)) {
        try {
          resolved.set(value, resolveSecret(value, { file, path: formatPath(path), env: options.env }));
        } catch (err) {
          if (!(err instanceof ConfigError)) throw err;
          // The line of the key that holds the reference, e.g. `password:`.
          const pos = src ? positionOf(src, path) : { line: 0, column: 0 };
          issues.push(...err.issues.map((i) => ({ ...i, ...pos })));
        }
        return;
      }
      for (const [k, v] of Object.entries(value)) visit(v, [...path, k]);
    }
  };
  visit(config, []);
  // TLS files are read when the broker starts listening; a file that cannot be read, that
  // holds something else than its PEM, or a key that does not belong to the certificate is a
  // configuration mistake, reported with its line like a secret (the library's own error,
  // "PEM routines::no start line", says neither which file nor what to do).
  const tls = (config as { tls?: { cert?: unknown; key?: unknown } } | null)?.tls;
  const tlsIssue = (key: 'cert' | 'key', message: string) => {
    const pos = src ? positionOf(src, ['tls', key]) : { line: 0, column: 0 };
    issues.push({ file, ...pos, path: `tls.${key}`, message });
  };
  const parsed: { cert?: X509Certificate; key?: KeyObject } = {};
  for (const key of ['cert', 'key'] as const) {
    const value = tls?.[key];
    if (typeof value !== 'string') continue;
    const path = configRelative(file, value);
    let pem: Buffer;
    try {
      pem = readFileSync(path);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      tlsIssue(key, `cannot read ${path} (${e.code ?? e.message})`);
      continue;
    }
    try {
      if (key === 'cert') parsed.cert = new X509Certificate(pem);
      else parsed.key = createPrivateKey(pem);
    } catch {
      tlsIssue(
        key,
        key === 'cert'
          ? `${path} holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)`
          : `${path} holds no PEM private key without a passphrase (expected -----BEGIN PRIVATE KEY----- or an unencrypted RSA or EC key)`,
      );
    }
  }
  if (parsed.cert && parsed.key && !parsed.cert.checkPrivateKey(parsed.key))
    tlsIssue(
      'key',
      `the key in ${configRelative(file, String(tls?.key))} does not belong to the certificate of tls.cert`,
    );
  return { resolved, issues };
}

/** A path from the configuration, relative to the configuration file's directory. */
export function configRelative(configFile: string, path: string): string {
  return resolve(dirname(configFile), path);
}

function readSource(file: string): ParsedSource | undefined {
  try {
    const lineCounter = new LineCounter();
    const doc = parseDocument(readFileSync(file, 'utf8'), { lineCounter });
    return { doc, lineCounter };
  } catch {
    // The file was readable a moment ago; without it the issue keeps line 0.
    return undefined;
  }
}

function positionOf(src: ParsedSource, path: readonly PropertyKey[]): { line: number; column: number } {
  const { node, keyNode } = nodeAt(src.doc.contents, path);
  const r = (keyNode ?? node)?.range ?? parentRange(src.doc.contents, path);
  if (!r) return { line: 1, column: 1 };
  const p = src.lineCounter.linePos(r[0]);
  return { line: p.line, column: p.col };
}

/** Parses and validates a config file without resolving secrets; throws ConfigError. */
export function loadConfigFile(file: string): BrokerConfig {
  return parseConfig(readConfigText(file), file);
}

function readConfigText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
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
}

export function parseConfig(text: string, file = '<config>'): BrokerConfig {
  const parsed = parseConfigText(text, file);
  if (parsed.config) return parsed.config;
  throw new ConfigError(parsed.issues);
}

interface ParsedConfig extends ParsedSource {
  /** The plain data of the document, when it parsed as YAML. */
  raw?: unknown;
  config?: BrokerConfig;
  issues: ConfigIssue[];
}

function parseConfigText(text: string, file: string): ParsedConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    // Later YAML errors are usually echoes of the first; one precise message helps more.
    const e = doc.errors[0]!;
    const pos = lineCounter.linePos(e.pos[0]);
    const issue: ConfigIssue = {
      file,
      line: pos.line,
      column: pos.col,
      path: formatPath(pathAtOffset(doc.contents, e.pos[0], e.code === 'DUPLICATE_KEY')),
      message: `YAML syntax error: ${e.message.split('\n')[0]}`,
    };
    return { doc, lineCounter, issues: [issue] };
  }
  const raw = doc.toJS() ?? {};
  const result = brokerConfig.safeParse(raw);
  if (result.success) return { doc, lineCounter, raw, config: result.data, issues: [] };
  const issues = result.error.issues.map((issue) => toIssue(issue, doc.contents, lineCounter, file));
  // The schema checks duplicate names only once every target is valid; report them regardless.
  issues.push(...duplicateTargetNames(raw, doc.contents, lineCounter, file));
  return { doc, lineCounter, raw, issues: sortIssues(dedupe(issues)) };
}

function duplicateTargetNames(raw: unknown, root: unknown, lc: LineCounter, file: string): ConfigIssue[] {
  const targets = (raw as { targets?: unknown })?.targets;
  if (!Array.isArray(targets)) return [];
  const seen = new Map<string, number>();
  const out: ConfigIssue[] = [];
  targets.forEach((t, i) => {
    const name = (t as { name?: unknown })?.name;
    if (typeof name !== 'string') return;
    const first = seen.get(name);
    if (first === undefined) {
      seen.set(name, i);
      return;
    }
    const path = ['targets', i, 'name'];
    const { node } = nodeAt(root, path);
    const pos = node?.range ? lc.linePos(node.range[0]) : { line: 1, col: 1 };
    out.push({
      file,
      line: pos.line,
      column: pos.col,
      path: formatPath(path),
      message: `duplicate target name "${name}" (first defined at targets[${first}])`,
    });
  });
  return out;
}

function dedupe(issues: ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const k = `${i.path}\0${i.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function sortIssues(issues: ConfigIssue[]): ConfigIssue[] {
  return [...issues].sort((a, b) => a.line - b.line || a.column - b.column);
}

/** The key path of the deepest mapping entry that holds `offset` (for YAML syntax errors). */
function pathAtOffset(root: unknown, offset: number, keyItself: boolean): PropertyKey[] {
  const path: PropertyKey[] = [];
  let cur = root as Node | null | undefined;
  const within = (n: unknown) => {
    const r = (n as Node | null | undefined)?.range;
    return r ? offset >= r[0] && offset <= r[2] : false;
  };
  for (;;) {
    if (isMap(cur)) {
      // The last key that starts before the error owns it: a broken value often has no range.
      // A key that starts at the error is part of the mistake, unless the key itself is wrong.
      let next: { key: unknown; value: unknown } | undefined;
      for (const pair of cur.items) {
        const kr = (pair.key as Node | null)?.range;
        if (kr && (kr[0] < offset || (keyItself && kr[0] === offset))) next = pair;
      }
      if (!next) return path;
      path.push(String((next.key as { value?: unknown }).value));
      if (!within(next.value)) return path;
      cur = next.value as Node;
    } else if (isSeq(cur)) {
      const i = cur.items.findIndex((it) => within(it));
      if (i < 0) return path;
      path.push(i);
      cur = cur.items[i] as Node;
    } else return path;
  }
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
  const path = configRelative(opts.file, ref.file);
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
