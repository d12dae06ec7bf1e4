# bash completion for gatectl                                -*- shell-script -*-
# Generated from the command tree by `npm run gen`; do not edit.
# Use: source this file, or install it as /usr/share/bash-completion/completions/gatectl
# (or print it with `gatectl completion bash`).

# Sets subs, flags, vflags (flags that take a value) and args (kinds of positional
# arguments; "..." marks a variadic one) for a command path such as "broker start".
_gatectl_spec() {
  case "$1" in
    '') subs='login logout status targets request grants approve deny revoke review connect exec broker completion' flags='--version -V --broker --profile --help -h' vflags='--broker --profile' args='' ;;
    'login') subs='' flags='--broker --with-token --no-browser --help -h' vflags='--broker' args='' ;;
    'logout') subs='' flags='--help -h' vflags='' args='' ;;
    'status') subs='' flags='--json --help -h' vflags='' args='' ;;
    'targets') subs='' flags='--json --help -h' vflags='' args='' ;;
    'request') subs='' flags='--reason -r --duration -d --no-wait --wait --json --help -h' vflags='--reason -r --duration -d --wait' args='target' ;;
    'grants') subs='' flags='--pending --all --json --help -h' vflags='' args='' ;;
    'approve') subs='' flags='--comment -c --json --help -h' vflags='--comment -c' args='none' ;;
    'deny') subs='' flags='--reason -r --json --help -h' vflags='--reason -r' args='none' ;;
    'revoke') subs='' flags='--reason -r --json --help -h' vflags='--reason -r' args='none' ;;
    'review') subs='' flags='--help -h' vflags='' args='' ;;
    'connect') subs='' flags='--port -p --reason -r --duration -d --wait --pg-service --json --help -h' vflags='--port -p --reason -r --duration -d --wait --pg-service' args='target' ;;
    'exec') subs='' flags='--reason -r --duration -d --wait --help -h' vflags='--reason -r --duration -d --wait' args='target command...' ;;
    'broker') subs='start check dev dev-token' flags='--help -h' vflags='' args='' ;;
    'broker start') subs='' flags='--config -c --help -h' vflags='--config -c' args='' ;;
    'broker check') subs='' flags='--config -c --help -h' vflags='--config -c' args='' ;;
    'broker dev') subs='' flags='--data-dir --port --target-url --help -h' vflags='--data-dir --port --target-url' args='' ;;
    'broker dev-token') subs='' flags='--identity --group --data-dir --help -h' vflags='--identity --group --data-dir' args='' ;;
    'completion') subs='' flags='--help -h' vflags='' args='choice:bash|zsh|fish' ;;
    *) subs='' flags='' vflags='' args='' ;;
  esac
}

# Sets kind to how the value of option $2 of command path $1 is completed.
_gatectl_optkind() {
  kind=none
  case "$1|$2" in
    'broker start|--config'|'broker start|-c') kind='file' ;;
    'broker check|--config'|'broker check|-c') kind='file' ;;
    'broker dev|--data-dir') kind='dir' ;;
    'broker dev-token|--data-dir') kind='dir' ;;
  esac
}

_gatectl_complete_kind() {
  case "$1" in
    file) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$cur")) ;;
    dir) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -d -- "$cur")) ;;
    target)
      local names
      names=$("${COMP_WORDS[0]}" "${broker_args[@]}" __complete targets 2>/dev/null)
      COMPREPLY=($(compgen -W "$names" -- "$cur"))
      ;;
    command) compopt -o default 2>/dev/null; COMPREPLY=() ;;
    choice:*)
      local choices="${1#choice:}"
      COMPREPLY=($(compgen -W "${choices//|/ }" -- "$cur"))
      ;;
    *) COMPREPLY=() ;;
  esac
}

_gatectl() {
  local cur="${COMP_WORDS[COMP_CWORD]}" cmdpath='' subs flags vflags args kind
  local i w skip='' nargs=0 dashdash=''
  local -a broker_args=()
  _gatectl_spec ''
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="${COMP_WORDS[i]}"
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
        cmdpath="${cmdpath:+$cmdpath }$w"
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
  if ((nargs < ${#kinds[@]})); then
    kind="${kinds[nargs]}"
  elif ((${#kinds[@]} > 0)) && [[ ${kinds[${#kinds[@]} - 1]} == *... ]]; then
    kind="${kinds[${#kinds[@]} - 1]}"
  fi
  _gatectl_complete_kind "${kind%...}"
  return 0
}

complete -F _gatectl gatectl
