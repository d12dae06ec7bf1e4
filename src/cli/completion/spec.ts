import type { Command } from 'commander';

/**
 * A plain description of the command tree, read from commander, from which the shell
 * completions and the man page are generated. Hidden commands (`__complete`) are left out,
 * as is commander's implicit `help` command.
 */
export interface CommandSpec {
  /** Words from the root, e.g. `['broker', 'start']`; empty for the root. */
  path: string[];
  name: string;
  description: string;
  usage: string;
  options: OptionSpec[];
  args: ArgSpec[];
  commands: CommandSpec[];
}

export interface OptionSpec {
  long?: string;
  short?: string;
  /** The placeholder of a value, e.g. `url` for `--broker <url>`; absent for a switch. */
  value?: string;
  description: string;
  choices?: string[];
  defaultValue?: string;
}

/** What completes a positional argument or an option value. */
export type ValueKind = 'target' | 'file' | 'dir' | 'choices' | 'none';

export interface ArgSpec {
  name: string;
  description: string;
  required: boolean;
  variadic: boolean;
  choices?: string[];
}

export function commandSpec(cmd: Command, path: string[] = []): CommandSpec {
  const help = cmd.createHelp();
  const options: OptionSpec[] = help.visibleOptions(cmd).map((o) => {
    const value = /<([^>]+)>|\[([^\]]+)\]/.exec(o.flags);
    return {
      ...(o.long ? { long: o.long } : {}),
      ...(o.short ? { short: o.short } : {}),
      ...(value ? { value: (value[1] ?? value[2])!.replace(/\.\.\.$/, '') } : {}),
      description: o.description,
      ...(o.argChoices ? { choices: [...o.argChoices] } : {}),
      ...(o.defaultValue !== undefined && typeof o.defaultValue === 'string'
        ? { defaultValue: o.defaultValue }
        : {}),
    };
  });
  const args: ArgSpec[] = cmd.registeredArguments.map((a) => ({
    name: a.name(),
    description: a.description,
    required: a.required,
    variadic: a.variadic,
    ...(a.argChoices ? { choices: [...a.argChoices] } : {}),
  }));
  const commands = cmd.commands
    .filter((c) => !(c as unknown as { _hidden: boolean })._hidden)
    .map((c) => commandSpec(c, [...path, c.name()]));
  return {
    path,
    name: cmd.name(),
    description: cmd.description(),
    usage: cmd.usage(),
    options,
    args,
    commands,
  };
}

/** Every command of the tree, parents before children. */
export function flatten(spec: CommandSpec): CommandSpec[] {
  return [spec, ...spec.commands.flatMap(flatten)];
}

/** How a positional argument is completed: target names come from the broker. */
export function argKind(arg: ArgSpec): ValueKind {
  if (arg.choices) return 'choices';
  if (arg.name === 'target') return 'target';
  return 'none';
}

/** How an option's value is completed, from its placeholder. */
export function valueKind(option: OptionSpec): ValueKind {
  if (option.choices) return 'choices';
  if (option.value === 'file') return 'file';
  if (option.value === 'dir') return 'dir';
  return 'none';
}

/** Flags of an option as typed, long first: `--reason`, `-r`. */
export function optionWords(o: OptionSpec): string[] {
  return [o.long, o.short].filter((w): w is string => Boolean(w));
}
