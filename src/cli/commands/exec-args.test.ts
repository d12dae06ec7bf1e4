import { describe, expect, it } from 'vitest';
import { splitExecArgs } from './exec-args.js';

describe('splitExecArgs', () => {
  it('reads gatectl flags before -- and leaves the command untouched', () => {
    expect(splitExecArgs(['--wait', '10m', '-d', '1h', '--', 'psql', '--wait', 'x'], {})).toEqual({
      flags: { wait: '10m', duration: '1h' },
      command: ['psql', '--wait', 'x'],
      help: false,
    });
    expect(splitExecArgs(['--duration=30m', '-r', 'deploy', '--', 'true'], {})).toEqual({
      flags: { duration: '30m', reason: 'deploy' },
      command: ['true'],
      help: false,
    });
  });

  it('starts the command at the first word that is not a gatectl flag', () => {
    expect(splitExecArgs(['psql', '-c', 'select 1'], { wait: '1m' })).toEqual({
      flags: { wait: '1m' },
      command: ['psql', '-c', 'select 1'],
      help: false,
    });
    expect(splitExecArgs(['--', '--weird-command'], {}).command).toEqual(['--weird-command']);
  });

  it('refuses a flag without its value', () => {
    expect(() => splitExecArgs(['--wait'], {})).toThrow(/needs a value/);
  });

  it('asks for help on -h or --help before the command, and leaves the command its own', () => {
    expect(splitExecArgs(['--help'], {}).help).toBe(true);
    expect(splitExecArgs(['--wait', '1m', '-h', 'psql'], {}).help).toBe(true);
    expect(splitExecArgs(['psql', '--help'], {})).toEqual({
      flags: {},
      command: ['psql', '--help'],
      help: false,
    });
    expect(splitExecArgs(['--', '--help'], {})).toEqual({ flags: {}, command: ['--help'], help: false });
  });

  it('refuses an option that is not one of its own before the command', () => {
    expect(() => splitExecArgs(['--reson', 'x', '--', 'psql'], {})).toThrow(
      /unknown option --reson for gatectl exec/,
    );
    expect(() => splitExecArgs(['--wiat=5m', 'psql'], {})).toThrow(/unknown option --wiat for gatectl exec/);
    expect(() => splitExecArgs(['-x', 'psql'], {})).toThrow(/unknown option -x/);
  });
});
