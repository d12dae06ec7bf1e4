import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { GlobalOptions } from './context.js';
import { CliError, NotLoggedInError } from './errors.js';

/** The CLI's configuration directory: $GATECTL_HOME, else the platform's config dir. */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.GATECTL_HOME) return env.GATECTL_HOME;
  if (process.platform === 'win32')
    return join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), 'gatectl');
  if (process.platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'gatectl');
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'gatectl');
}

export interface Profile {
  broker: string;
}

export interface CliConfig {
  current: string;
  profiles: Record<string, Profile>;
}

export function readCliConfig(env: NodeJS.ProcessEnv = process.env): CliConfig {
  const file = join(configDir(env), 'config.json');
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<CliConfig>;
    return { current: parsed.current ?? 'default', profiles: parsed.profiles ?? {} };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { current: 'default', profiles: {} };
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`, {
      hint: 'Fix or remove the file, then try again.',
    });
  }
}

/** Writes atomically (temp file + rename) with mode 0600. */
export function writeCliConfig(config: CliConfig, env: NodeJS.ProcessEnv = process.env): void {
  const dir = configDir(env);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, 'config.json');
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, file);
}

export function profileName(globals: GlobalOptions, env: NodeJS.ProcessEnv, config?: CliConfig): string {
  return globals.profile ?? env.GATECTL_PROFILE ?? config?.current ?? 'default';
}

/** --broker, then $GATECTL_BROKER, then the profile's broker. */
export function resolveBroker(
  globals: GlobalOptions,
  env: NodeJS.ProcessEnv,
): { url: string; profile: string } {
  const config = readCliConfig(env);
  const profile = profileName(globals, env, config);
  const url = globals.broker ?? env.GATECTL_BROKER ?? config.profiles[profile]?.broker;
  if (!url) {
    throw new NotLoggedInError('No broker configured', {
      hint: 'Run `gatectl login --broker https://broker.example.com` (or set GATECTL_BROKER).',
    });
  }
  return { url: normalizeBrokerUrl(url), profile };
}

export function normalizeBrokerUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new CliError(`invalid broker URL: ${url}`, {
      code: 'usage',
      exitCode: 2,
      hint: 'Pass a URL such as https://broker.example.com.',
    });
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new CliError(`invalid broker URL: ${url} (expected http:// or https://)`, { exitCode: 2 });
  }
  return u.toString().replace(/\/+$/, '');
}
