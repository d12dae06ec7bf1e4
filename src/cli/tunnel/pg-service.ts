import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { ConnectionInfo } from './connection-info.js';

/** The per-user service file libpq reads: $PGSERVICEFILE, else ~/.pg_service.conf. */
export function serviceFilePath(env: NodeJS.ProcessEnv): string {
  return env.PGSERVICEFILE || join(env.HOME || homedir(), '.pg_service.conf');
}

/** Splits an INI-style service file into a preamble and named sections, keeping their text. */
function parseSections(text: string): {
  preamble: string[];
  sections: Array<{ name: string; lines: string[] }>;
} {
  const preamble: string[] = [];
  const sections: Array<{ name: string; lines: string[] }> = [];
  for (const line of text.split('\n')) {
    const m = /^\s*\[([^\]]+)\]\s*$/.exec(line);
    if (m) sections.push({ name: m[1]!.trim(), lines: [line] });
    else if (sections.length > 0) sections[sections.length - 1]!.lines.push(line);
    else preamble.push(line);
  }
  return { preamble, sections };
}

function write(file: string, preamble: string[], sections: Array<{ lines: string[] }>): void {
  const text = [...preamble, ...sections.flatMap((s) => s.lines)].join('\n').replace(/\n*$/, '\n');
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  // The entry holds the tunnel's secret: readable by the user only.
  writeFileSync(tmp, text === '\n' ? '' : text, { mode: 0o600 });
  renameSync(tmp, file);
}

function read(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
}

/** Adds or replaces the section `[name]` with the tunnel's connection parameters. */
export function writeServiceEntry(file: string, name: string, info: ConnectionInfo): void {
  const { preamble, sections } = parseSections(read(file));
  const entry = {
    name,
    lines: [
      `[${name}]`,
      `host=${info.host}`,
      `port=${info.port}`,
      `dbname=${info.database}`,
      `user=${info.user}`,
      `password=${info.password}`,
      'sslmode=disable',
      '',
    ],
  };
  const i = sections.findIndex((s) => s.name === name);
  if (i >= 0) sections[i] = entry;
  else {
    if (sections.length > 0 || preamble.some((l) => l.trim() !== '')) {
      const last = sections.length > 0 ? sections[sections.length - 1]!.lines : preamble;
      if (last[last.length - 1]?.trim() !== '') last.push('');
    }
    sections.push(entry);
  }
  write(file, preamble, sections);
}

/** Removes the section `[name]` if it still holds this port (another tunnel may have taken the name since). */
export function removeServiceEntry(file: string, name: string, port: number): void {
  const { preamble, sections } = parseSections(read(file));
  const i = sections.findIndex((s) => s.name === name && s.lines.some((l) => l.trim() === `port=${port}`));
  if (i < 0) return;
  sections.splice(i, 1);
  write(file, preamble, sections);
}
