import { argKind, type CommandSpec, flatten, type OptionSpec, optionWords, valueKind } from './spec.js';

/**
 * The bash completion script. It walks the words typed so far through the command tree
 * (skipping options and their values), then offers subcommands, flags, option values or
 * positional arguments of the command reached. Target names come from
 * `gatectl __complete targets`, which prints nothing when no broker answers.
 * Plain bash only: no dependency on the bash-completion package.
 */
export function bashCompletion(root: CommandSpec): string {
  const specCases = flatten(root)
    .map((c) => {
      const subs = c.commands.map((s) => s.name).join(' ');
      const flags = c.options.flatMap(optionWords).join(' ');
      const vflags = c.options
        .filter((o) => o.value)
        .flatMap(optionWords)
        .join(' ');
      const args = c.args
        .map((a) => `${kindWord(argKind(a), a.choices, a.name)}${a.variadic ? '...' : ''}`)
        .join(' ');
      return `    ${sq(c.path.join(' '))}) subs=${sq(subs)} flags=${sq(flags)} vflags=${sq(vflags)} args=${sq(args)} ;;`;
    })
    .join('\n');
  const optCases = flatten(root)
    .flatMap((c) =>
      c.options
        .filter((o) => o.value && valueKind(o) !== 'none')
        .map(
          (o) =>
            `    ${optionWords(o)
              .map((w) => sq(`${c.path.join(' ')}|${w}`))
              .join('|')}) kind=${sq(optKindWord(o))} ;;`,
        ),
    )
    .join('\n');

  return `# bash completion for gatectl                                -*- shell-script -*-
# Generated from the command tree by \`npm run gen\`; do not edit.
# Use: source this file, or install it as /usr/share/bash-completion/completions/gatectl
# (or print it with \`gatectl completion bash\`).

# Sets subs, flags, vflags (flags that take a value) and args (kinds of positional
# arguments; "..." marks a variadic one) for a command path such as "broker start".
_gatectl_spec() {
  case "$1" in
${specCases}
    *) subs='' flags='' vflags='' args='' ;;
  esac
}

# Sets kind to how the value of option $2 of command path $1 is completed.
_gatectl_optkind() {
  kind=none
  case "$1|$2" in
${optCases}
  esac
}

_gatectl_complete_kind() {
  case "$1" in
    file) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$cur")) ;;
    dir) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -d -- "$cur")) ;;
    target)
      local names
      names=$("\${COMP_WORDS[0]}" "\${broker_args[@]}" __complete targets 2>/dev/null)
      COMPREPLY=($(compgen -W "$names" -- "$cur"))
      ;;
    command) compopt -o default 2>/dev/null; COMPREPLY=() ;;
    choice:*)
      local choices="\${1#choice:}"
      COMPREPLY=($(compgen -W "\${choices//|/ }" -- "$cur"))
      ;;
    *) COMPREPLY=() ;;
  esac
}

_gatectl() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" cmdpath='' subs flags vflags args kind
  local i w skip='' nargs=0 dashdash=''
  local -a broker_args=()
  _gatectl_spec ''
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    if [[ -n $skip ]]; then
      # --broker and --profile are passed on so target names come from the same broker.
      [[ $skip == --broker || $skip == --profile ]] && broker_args+=("$skip" "$w")
      skip=''
      continue
    fi
    if [[ -z $dashdash ]]; then
      case "$w" in
        --) dashdash=1; continue ;;
        -*=*) continue ;;
        -*) [[ " $vflags " == *" $w "* ]] && skip="$w"; continue ;;
      esac
      if [[ " $subs " == *" $w "* ]]; then
        cmdpath="\${cmdpath:+$cmdpath }$w"
        _gatectl_spec "$cmdpath"
        nargs=0
        continue
      fi
    fi
    nargs=$((nargs + 1))
  done
  COMPREPLY=()
  if [[ -n $skip ]]; then
    _gatectl_optkind "$cmdpath" "$skip"
    _gatectl_complete_kind "$kind"
    return 0
  fi
  if [[ -z $dashdash && $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$flags" -- "$cur"))
    return 0
  fi
  if [[ -n $subs ]]; then
    COMPREPLY=($(compgen -W "$subs" -- "$cur"))
    return 0
  fi
  local -a kinds=($args)
  kind=''
  if ((nargs < \${#kinds[@]})); then
    kind="\${kinds[nargs]}"
  elif ((\${#kinds[@]} > 0)) && [[ \${kinds[\${#kinds[@]} - 1]} == *... ]]; then
    kind="\${kinds[\${#kinds[@]} - 1]}"
  fi
  _gatectl_complete_kind "\${kind%...}"
  return 0
}

complete -F _gatectl gatectl
`;
}

/** A kind as one shell word: `target`, `file`, `choice:bash|zsh|fish`. */
export function kindWord(kind: string, choices: string[] | undefined, name: string): string {
  if (kind === 'choices') return `choice:${(choices ?? []).join('|')}`;
  if (kind === 'none' && name === 'command') return 'command';
  return kind;
}

function optKindWord(o: OptionSpec): string {
  return kindWord(valueKind(o), o.choices, o.value ?? '');
}

/** Single-quotes a word for sh. */
export function sq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
