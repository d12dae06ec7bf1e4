import { kindWord, sq } from './bash.js';
import { argKind, type CommandSpec, flatten, optionWords, valueKind } from './spec.js';

/**
 * The zsh completion script: the same walk over the command tree as the bash script, with
 * descriptions shown next to subcommands and flags.
 */
export function zshCompletion(root: CommandSpec): string {
  const specCases = flatten(root)
    .map((c) => {
      const subs = c.commands.map((s) => sq(`${s.name}:${s.description}`)).join(' ');
      const flags = c.options
        .flatMap((o) => optionWords(o).map((w) => sq(`${w}:${o.description}`)))
        .join(' ');
      const vflags = c.options
        .filter((o) => o.value)
        .flatMap(optionWords)
        .join(' ');
      const args = c.args
        .map((a) => sq(`${kindWord(argKind(a), a.choices, a.name)}${a.variadic ? '...' : ''}`))
        .join(' ');
      return `    ${sq(c.path.join(' '))}) subs=(${subs}) flags=(${flags}) vflags=(${vflags}) args=(${args}) ;;`;
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
              .join('|')}) kind=${sq(kindWord(valueKind(o), o.choices, o.value ?? ''))} ;;`,
        ),
    )
    .join('\n');

  return `#compdef gatectl
# zsh completion for gatectl. Generated from the command tree by \`npm run gen\`; do not edit.
# Use: copy to a directory of $fpath as _gatectl (then compinit), or source it after compinit
# (or print it with \`gatectl completion zsh\`).

# Sets subs and flags ("name:description"), vflags (flags that take a value) and args
# (kinds of positional arguments; "..." marks a variadic one) for a command path.
_gatectl_spec() {
  case "$1" in
${specCases}
    *) subs=() flags=() vflags=() args=() ;;
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
    file) _files ;;
    dir) _files -/ ;;
    target)
      local -a names
      names=(\${(f)"$(\${words[1]} \${broker_args[@]} __complete targets 2>/dev/null)"})
      compadd -a names
      ;;
    command) _files ;;
    choice:*)
      local -a choices
      choices=(\${(s:|:)\${1#choice:}})
      compadd -a choices
      ;;
  esac
}

_gatectl() {
  local cmdpath='' kind w skip='' dashdash='' i nargs=0
  local -a subs flags vflags args broker_args subnames kinds
  _gatectl_spec ''
  for ((i = 2; i < CURRENT; i++)); do
    w=\${words[i]}
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
        -*) (( \${vflags[(Ie)$w]} )) && skip=$w; continue ;;
      esac
      subnames=(\${subs%%:*})
      if (( \${subnames[(Ie)$w]} )); then
        cmdpath=\${cmdpath:+$cmdpath }$w
        _gatectl_spec "$cmdpath"
        nargs=0
        continue
      fi
    fi
    (( nargs++ ))
  done
  local cur=\${words[CURRENT]}
  if [[ -n $skip ]]; then
    _gatectl_optkind "$cmdpath" "$skip"
    _gatectl_complete_kind "$kind"
    return
  fi
  if [[ -z $dashdash && $cur == -* ]]; then
    _describe -t options 'option' flags
    return
  fi
  if (( \${#subs} )); then
    _describe -t commands 'command' subs
    return
  fi
  kinds=(\${args[@]})
  kind=''
  if (( nargs < \${#kinds} )); then
    kind=\${kinds[nargs + 1]}
  elif (( \${#kinds} )) && [[ \${kinds[-1]} == *... ]]; then
    kind=\${kinds[-1]}
  fi
  _gatectl_complete_kind "\${kind%...}"
}

if [[ \${zsh_eval_context[-1]} == loadautofunc ]]; then
  _gatectl "$@"
else
  compdef _gatectl gatectl
fi
`;
}
