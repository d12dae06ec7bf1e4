import { describe, expect, it } from 'vitest';
import { splitExecArgs } from './exec.js';

describe('splitExecArgs', () => {
  it('reads gatectl flags before -- and leaves the command untouched', () => {
    expect(splitExecArgs(['--wait', '10m', '-d', '1h', '--', 'psql', '--wait', 'x'], {})).toEqual({
      flags: { wait: '10m', duration: '1h' },
      command: ['psql', '--wait', 'x'],
    });
    expect(splitExecArgs(['--duration=30m', '-r', 'deploy', '--', 'true'], {})).toEqual({
      flags: { duration: '30m', reason: 'deploy' },
      command: ['true'],
    });
  });

  it('starts the command at the first word that is not a gatectl flag', () => {
    expect(splitExecArgs(['psql', '-c', 'select 1'], { wait: '1m' })).toEqual({
      flags: { wait: '1m' },
      command: ['psql', '-c', 'select 1'],
    });
    expect(splitExecArgs(['--', '--weird-command'], {}).command).toEqual(['--weird-command']);
  });

  it('refuses a flag without its value', () => {
    expect(() => splitExecArgs(['--wait'], {})).toThrow(/needs a value/);
  });
});
