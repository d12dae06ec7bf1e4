import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { generatedFiles } from './completion/generate.js';
import { packageVersion } from './main.js';

/** `npm run gen`: writes the shell completions and the man page, which are checked in. */
const root = resolve(import.meta.dirname, '../../..');
for (const [path, content] of Object.entries(generatedFiles(packageVersion()))) {
  const file = join(root, path);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, content);
  process.stderr.write(`wrote ${path}\n`);
}
