import { kindWord, sq } from './bash.js';
import { argKind, type CommandSpec, flatten, optionWords, valueKind } from './spec.js';

/**
 * The fish completion script: one function walks the command line through the command tree
 * (as the bash and zsh scripts do) and prints candidates with their descriptions.
 */
export function fishCompletion(root: CommandSpec): string {
  const all = flatten(root);
  const table = (pick: (c: CommandSpec) => string[]) =>
    all
      .map((c) => {
        const values = pick(c);
        return `    case ${sq(c.path.join(' '))}\n${values.length ? `      printf '%s\\n' ${values.join(' ')}\n` : ''}`;
      })
      .join('');
  const subs = table((c) => c.commands.map((s) => sq(`${s.name}\t${s.description}`)));
  const flags = table((c) =>
    c.options.flatMap((o) => optionWords(o).map((w) => sq(`${w}\t${o.description}`))),
  );
  const vflags = table((c) =>
    c.options
      .filter((o) => o.value)
      .flatMap(optionWords)
      .map(sq),
  );
  const args = table((c) =>
    c.args.map((a) => sq(`${kindWord(argKind(a), a.choices, a.name)}${a.variadic ? '...' : ''}`)),
  );
  const optCases = all
    .flatMap((c) =>
      c.options
        .filter((o) => o.value && valueKind(o) !== 'none')
        .map(
          (o) =>
            `    case ${optionWords(o)
              .map((w) => sq(`${c.path.join(' ')}|${w}`))
              .join(' ')}\n      echo ${sq(kindWord(valueKind(o), o.choices, o.value ?? ''))}\n`,
        ),
    )
    .join('');

  return `# fish completion for gatectl. Generated from the command tree by \`npm run gen\`; do not edit.
# Use: copy to ~/.config/fish/completions/gatectl.fish (or \`gatectl completion fish | source\`).

# Subcommands ("name<TAB>description") of a command path such as "broker start".
function __gatectl_subs
  switch "$argv[1]"
${subs}  end
end

# Flags ("flag<TAB>description") of a command path.
function __gatectl_flags
  switch "$argv[1]"
${flags}  end
end

# Flags of a command path that take a value.
function __gatectl_vflags
  switch "$argv[1]"
${vflags}  end
end

# Kinds of the positional arguments of a command path; "..." marks a variadic one.
function __gatectl_args
  switch "$argv[1]"
${args}  end
end

# How the value of option $argv[2] of command path $argv[1] is completed.
function __gatectl_optkind
  switch "$argv[1]|$argv[2]"
${optCases}    case '*'
      echo none
  end
end

function __gatectl_kind
  set -l cur (commandline -ct)
  switch "$argv[1]"
    case file
      __fish_complete_path "$cur"
    case dir
      __fish_complete_directories "$cur"
    case target
      $argv[2..-1] __complete targets 2>/dev/null
    case command
      __fish_complete_path "$cur"
    case 'choice:*'
      string split '|' (string replace 'choice:' '' -- "$argv[1]")
  end
end

function __gatectl_complete
  set -l tokens (commandline -opc)
  set -l cur (commandline -ct)
  # The binary as typed, with --broker/--profile passed on for target names.
  set -l self $tokens[1]
  set -e tokens[1]
  set -l cmdpath ''
  set -l skip ''
  set -l dashdash ''
  set -l nargs 0
  set -l vflags (__gatectl_vflags '')
  set -l subnames (__gatectl_subs '' | string replace -r '\\t.*' '')
  for w in $tokens
    if test -n "$skip"
      if contains -- "$skip" --broker --profile
        set -a self $skip $w
      end
      set skip ''
      continue
    end
    if test -z "$dashdash"
      switch $w
        case '--'
          set dashdash 1
          continue
        case '-*=*'
          continue
        case '-*'
          if contains -- $w $vflags
            set skip $w
          end
          continue
      end
      if contains -- $w $subnames
        set cmdpath (string trim -- "$cmdpath $w")
        set vflags (__gatectl_vflags "$cmdpath")
        set subnames (__gatectl_subs "$cmdpath" | string replace -r '\\t.*' '')
        set nargs 0
        continue
      end
    end
    set nargs (math $nargs + 1)
  end
  if test -n "$skip"
    __gatectl_kind (__gatectl_optkind "$cmdpath" "$skip") $self
    return
  end
  if test -z "$dashdash"; and string match -q -- '-*' "$cur"
    __gatectl_flags "$cmdpath"
    return
  end
  if test (count $subnames) -gt 0
    __gatectl_subs "$cmdpath"
    return
  end
  set -l kinds (__gatectl_args "$cmdpath")
  set -l kind ''
  if test $nargs -lt (count $kinds)
    set kind $kinds[(math $nargs + 1)]
  else if test (count $kinds) -gt 0; and string match -q -- '*...' $kinds[-1]
    set kind $kinds[-1]
  end
  __gatectl_kind (string replace -r '\\.\\.\\.$' '' -- "$kind") $self
end

complete -c gatectl -f -a '(__gatectl_complete)'
`;
}
