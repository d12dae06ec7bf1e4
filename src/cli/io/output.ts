import type { IOStreams } from './streams.js';

export function writeJson(io: IOStreams, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function info(io: IOStreams, line: string): void {
  io.stderr.write(`${line}\n`);
}

/** RFC 3339 in UTC, the form used off a terminal. */
export function formatTime(value: Date | string | number | null | undefined): string {
  if (value === null || value === undefined || value === '') return '';
  const d = value instanceof Date ? value : new Date(value);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export interface Column<T> {
  header: string;
  value: (row: T) => string;
}

/**
 * Tables: aligned columns with a header on a terminal; tab-separated, no header, off one
 * (so `cut -f` and `awk -F'\t'` work), as GitHub CLI's tableprinter does.
 */
export function writeTable<T>(io: IOStreams, rows: readonly T[], columns: readonly Column<T>[]): void {
  const cells = rows.map((r) => columns.map((c) => sanitize(c.value(r))));
  if (!io.stdout.isTTY) {
    for (const row of cells) io.stdout.write(`${row.join('\t')}\n`);
    return;
  }
  const headers = columns.map((c) => c.header.toUpperCase());
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i]!.length)));
  const line = (row: string[]) =>
    row
      .map((v, i) => (i === row.length - 1 ? v : v.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  io.stdout.write(`${line(headers)}\n`);
  for (const row of cells) io.stdout.write(`${line(row)}\n`);
}

function sanitize(v: string): string {
  return v.replace(/[\t\r\n]+/g, ' ');
}
