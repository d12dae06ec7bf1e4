#compdef gatectl
# zsh completion for gatectl. Generated from the command tree by `npm run gen`; do not edit.
# Use: copy to a directory of $fpath as _gatectl (then compinit), or source it after compinit
# (or print it with `gatectl completion zsh`).

# Sets subs and flags ("name:description"), vflags (flags that take a value) and args
# (kinds of positional arguments; "..." marks a variadic one) for a command path.
_gatectl_spec() {
  case "$1" in
    '') subs=('login:sign in to the broker (OIDC device flow), or with a CI token on stdin' 'logout:revoke the session at the broker and forget stored tokens' 'status:show the broker, identity, groups and session expiry' 'targets:list the targets you may reach and the grants you hold' 'request:request a just-in-time grant to a target and wait for the decision' 'grants:list grants: yours, and those you may approve' 'approve:approve a pending request' 'deny:deny a pending request' 'revoke:revoke an active grant; its open sessions end' 'review:review pending requests in an interactive queue (terminal UI)' 'connect:open a local port to a target through the broker' 'exec:run a command with a private tunnel to a target in its environment (PGHOST, PGPORT, …)' 'broker:run and manage the broker' 'completion:print a shell completion script') flags=('--version:print the version' '-V:print the version' '--broker:broker URL (default: the profile’s broker, or $GATECTL_BROKER)' '--profile:configuration profile to use (default: $GATECTL_PROFILE or the current one)' '--help:display help for command' '-h:display help for command') vflags=(--broker --profile) args=() ;;
    'login') subs=() flags=('--broker:broker to sign in to; remembered in the profile' '--with-token:read an OIDC ID token from stdin instead of opening the device flow' '--no-browser:do not offer to open a browser' '--help:display help for command' '-h:display help for command') vflags=(--broker) args=() ;;
    'logout') subs=() flags=('--help:display help for command' '-h:display help for command') vflags=() args=() ;;
    'status') subs=() flags=('--json:print JSON' '--help:display help for command' '-h:display help for command') vflags=() args=() ;;
    'targets') subs=() flags=('--json:print JSON' '--help:display help for command' '-h:display help for command') vflags=() args=() ;;
    'request') subs=() flags=('--reason:why you need access (shown to approvers)' '-r:why you need access (shown to approvers)' '--duration:how long the grant should last, e.g. 30m, 1h (capped by the target)' '-d:how long the grant should last, e.g. 30m, 1h (capped by the target)' '--no-wait:print the request id and return without waiting' '--wait:wait at most this long for a decision (default: until it expires)' '--json:print JSON' '--help:display help for command' '-h:display help for command') vflags=(--reason -r --duration -d --wait) args=('target') ;;
    'grants') subs=() flags=('--pending:only pending requests you may approve' '--all:every state, not only pending and active ones' '--json:print JSON' '--help:display help for command' '-h:display help for command') vflags=() args=() ;;
    'approve') subs=() flags=('--comment:note recorded with the decision' '-c:note recorded with the decision' '--json:print JSON' '--help:display help for command' '-h:display help for command') vflags=(--comment -c) args=('none') ;;
    'deny') subs=() flags=('--reason:why (shown to the requester)' '-r:why (shown to the requester)' '--json:print JSON' '--help:display help for command' '-h:display help for command') vflags=(--reason -r) args=('none') ;;
    'revoke') subs=() flags=('--reason:why (shown to the holder)' '-r:why (shown to the holder)' '--json:print JSON' '--help:display help for command' '-h:display help for command') vflags=(--reason -r) args=('none') ;;
    'review') subs=() flags=('--help:display help for command' '-h:display help for command') vflags=() args=() ;;
    'connect') subs=() flags=('--port:local port to listen on (default: a free one)' '-p:local port to listen on (default: a free one)' '--reason:reason used when a grant must be requested' '-r:reason used when a grant must be requested' '--duration:grant duration when one must be requested' '-d:grant duration when one must be requested' '--wait:wait at most this long for an approval' '--pg-service:write a pg_service.conf entry with this name instead of printing a URI' '--json:print the connection details as JSON' '--help:display help for command' '-h:display help for command') vflags=(--port -p --reason -r --duration -d --wait --pg-service) args=('target') ;;
    'exec') subs=() flags=('--reason:reason used when a grant must be requested' '-r:reason used when a grant must be requested' '--duration:grant duration when one must be requested' '-d:grant duration when one must be requested' '--wait:wait at most this long for an approval' '--help:display help for command' '-h:display help for command') vflags=(--reason -r --duration -d --wait) args=('target' 'command...') ;;
    'broker') subs=('start:start the broker' 'check:validate a broker configuration without starting' 'dev:start a local broker, identity provider and demo database (development only)' 'dev-token:print a CI-style OIDC token from the dev stack’s machine issuer (development only)') flags=('--help:display help for command' '-h:display help for command') vflags=() args=() ;;
    'broker start') subs=() flags=('--config:broker configuration (YAML)' '-c:broker configuration (YAML)' '--help:display help for command' '-h:display help for command') vflags=(--config -c) args=() ;;
    'broker check') subs=() flags=('--config:broker configuration (YAML)' '-c:broker configuration (YAML)' '--help:display help for command' '-h:display help for command') vflags=(--config -c) args=() ;;
    'broker dev') subs=() flags=('--data-dir:where the dev stack keeps its state' '--port:broker port' '--target-url:use this PostgreSQL server as the demo target instead of an embedded one' '--help:display help for command' '-h:display help for command') vflags=(--data-dir --port --target-url) args=() ;;
    'broker dev-token') subs=() flags=('--identity:repository-like identity' '--group:groups the token’s claims map to' '--data-dir:the dev stack’s data directory' '--help:display help for command' '-h:display help for command') vflags=(--identity --group --data-dir) args=() ;;
    'completion') subs=() flags=('--help:display help for command' '-h:display help for command') vflags=() args=('choice:bash|zsh|fish') ;;
    *) subs=() flags=() vflags=() args=() ;;
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
    file) _files ;;
    dir) _files -/ ;;
    target)
      local -a names
      names=(${(f)"$(${words[1]} ${broker_args[@]} __complete targets 2>/dev/null)"})
      compadd -a names
      ;;
    command) _files ;;
    choice:*)
      local -a choices
      choices=(${(s:|:)${1#choice:}})
      compadd -a choices
      ;;
  esac
}

_gatectl() {
  local cmdpath='' kind w skip='' dashdash='' i nargs=0
  local -a subs flags vflags args broker_args subnames kinds
  _gatectl_spec ''
  for ((i = 2; i < CURRENT; i++)); do
    w=${words[i]}
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
        -*) (( ${vflags[(Ie)$w]} )) && skip=$w; continue ;;
      esac
      subnames=(${subs%%:*})
      if (( ${subnames[(Ie)$w]} )); then
        cmdpath=${cmdpath:+$cmdpath }$w
        _gatectl_spec "$cmdpath"
        nargs=0
        continue
      fi
    fi
    (( nargs++ ))
  done
  local cur=${words[CURRENT]}
  if [[ -n $skip ]]; then
    _gatectl_optkind "$cmdpath" "$skip"
    _gatectl_complete_kind "$kind"
    return
  fi
  if [[ -z $dashdash && $cur == -* ]]; then
    _describe -t options 'option' flags
    return
  fi
  if (( ${#subs} )); then
    _describe -t commands 'command' subs
    return
  fi
  kinds=(${args[@]})
  kind=''
  if (( nargs < ${#kinds} )); then
    kind=${kinds[nargs + 1]}
  elif (( ${#kinds} )) && [[ ${kinds[-1]} == *... ]]; then
    kind=${kinds[-1]}
  fi
  _gatectl_complete_kind "${kind%...}"
}

if [[ ${zsh_eval_context[-1]} == loadautofunc ]]; then
  _gatectl "$@"
else
  compdef _gatectl gatectl
fi
