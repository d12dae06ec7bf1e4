# fish completion for gatectl. Generated from the command tree by `npm run gen`; do not edit.
# Use: copy to ~/.config/fish/completions/gatectl.fish (or `gatectl completion fish | source`).

# Subcommands ("name<TAB>description") of a command path such as "broker start".
function __gatectl_subs
  switch "$argv[1]"
    case ''
      printf '%s\n' 'login	sign in to the broker (OIDC device flow), or with a CI token on stdin' 'logout	revoke the session at the broker and forget stored tokens' 'status	show the broker, identity, groups and session expiry' 'targets	list the targets you may reach and the grants you hold' 'request	request a just-in-time grant to a target and wait for the decision' 'grants	list grants: yours, and those you may approve' 'approve	approve a pending request' 'deny	deny a pending request' 'revoke	revoke an active grant; its open sessions end' 'review	review pending requests in an interactive queue (terminal UI)' 'connect	open a local port to a target through the broker' 'exec	run a command with a private tunnel to a target in its environment (PGHOST, PGPORT, …)' 'broker	run and manage the broker' 'completion	print a shell completion script'
    case 'login'
    case 'logout'
    case 'status'
    case 'targets'
    case 'request'
    case 'grants'
    case 'approve'
    case 'deny'
    case 'revoke'
    case 'review'
    case 'connect'
    case 'exec'
    case 'broker'
      printf '%s\n' 'start	start the broker' 'check	validate a broker configuration without starting' 'dev	start a local broker, identity provider and demo database (development only)' 'dev-token	print a CI-style OIDC token from the dev stack’s machine issuer (development only)'
    case 'broker start'
    case 'broker check'
    case 'broker dev'
    case 'broker dev-token'
    case 'completion'
  end
end

# Flags ("flag<TAB>description") of a command path.
function __gatectl_flags
  switch "$argv[1]"
    case ''
      printf '%s\n' '--version	print the version' '-V	print the version' '--broker	broker URL (default: the profile’s broker, or $GATECTL_BROKER)' '--profile	configuration profile to use (default: $GATECTL_PROFILE or the current one)' '--help	display help for command' '-h	display help for command'
    case 'login'
      printf '%s\n' '--broker	broker to sign in to; remembered in the profile' '--with-token	read an OIDC ID token from stdin instead of opening the device flow' '--no-browser	do not offer to open a browser' '--help	display help for command' '-h	display help for command'
    case 'logout'
      printf '%s\n' '--help	display help for command' '-h	display help for command'
    case 'status'
      printf '%s\n' '--json	print JSON' '--help	display help for command' '-h	display help for command'
    case 'targets'
      printf '%s\n' '--json	print JSON' '--help	display help for command' '-h	display help for command'
    case 'request'
      printf '%s\n' '--reason	why you need access (shown to approvers)' '-r	why you need access (shown to approvers)' '--duration	how long the grant should last, e.g. 30m, 1h (capped by the target)' '-d	how long the grant should last, e.g. 30m, 1h (capped by the target)' '--no-wait	print the request id and return without waiting' '--wait	wait at most this long for a decision (default: until it expires)' '--json	print JSON' '--help	display help for command' '-h	display help for command'
    case 'grants'
      printf '%s\n' '--pending	only pending requests you may approve' '--all	every state, not only pending and active ones' '--json	print JSON' '--help	display help for command' '-h	display help for command'
    case 'approve'
      printf '%s\n' '--comment	note recorded with the decision' '-c	note recorded with the decision' '--json	print JSON' '--help	display help for command' '-h	display help for command'
    case 'deny'
      printf '%s\n' '--reason	why (shown to the requester)' '-r	why (shown to the requester)' '--json	print JSON' '--help	display help for command' '-h	display help for command'
    case 'revoke'
      printf '%s\n' '--reason	why (shown to the holder)' '-r	why (shown to the holder)' '--json	print JSON' '--help	display help for command' '-h	display help for command'
    case 'review'
      printf '%s\n' '--help	display help for command' '-h	display help for command'
    case 'connect'
      printf '%s\n' '--port	local port to listen on (default: a free one)' '-p	local port to listen on (default: a free one)' '--reason	reason used when a grant must be requested' '-r	reason used when a grant must be requested' '--duration	grant duration when one must be requested' '-d	grant duration when one must be requested' '--wait	wait at most this long for an approval' '--pg-service	write a pg_service.conf entry with this name instead of printing a URI' '--json	print the connection details as JSON' '--help	display help for command' '-h	display help for command'
    case 'exec'
      printf '%s\n' '--reason	reason used when a grant must be requested' '-r	reason used when a grant must be requested' '--duration	grant duration when one must be requested' '-d	grant duration when one must be requested' '--wait	wait at most this long for an approval' '--help	display help for command' '-h	display help for command'
    case 'broker'
      printf '%s\n' '--help	display help for command' '-h	display help for command'
    case 'broker start'
      printf '%s\n' '--config	broker configuration (YAML)' '-c	broker configuration (YAML)' '--help	display help for command' '-h	display help for command'
    case 'broker check'
      printf '%s\n' '--config	broker configuration (YAML)' '-c	broker configuration (YAML)' '--help	display help for command' '-h	display help for command'
    case 'broker dev'
      printf '%s\n' '--data-dir	where the dev stack keeps its state' '--port	broker port' '--target-url	use this PostgreSQL server as the demo target instead of an embedded one' '--help	display help for command' '-h	display help for command'
    case 'broker dev-token'
      printf '%s\n' '--identity	repository-like identity' '--group	groups the token’s claims map to' '--data-dir	the dev stack’s data directory' '--help	display help for command' '-h	display help for command'
    case 'completion'
      printf '%s\n' '--help	display help for command' '-h	display help for command'
  end
end

# Flags of a command path that take a value.
function __gatectl_vflags
  switch "$argv[1]"
    case ''
      printf '%s\n' '--broker' '--profile'
    case 'login'
      printf '%s\n' '--broker'
    case 'logout'
    case 'status'
    case 'targets'
    case 'request'
      printf '%s\n' '--reason' '-r' '--duration' '-d' '--wait'
    case 'grants'
    case 'approve'
      printf '%s\n' '--comment' '-c'
    case 'deny'
      printf '%s\n' '--reason' '-r'
    case 'revoke'
      printf '%s\n' '--reason' '-r'
    case 'review'
    case 'connect'
      printf '%s\n' '--port' '-p' '--reason' '-r' '--duration' '-d' '--wait' '--pg-service'
    case 'exec'
      printf '%s\n' '--reason' '-r' '--duration' '-d' '--wait'
    case 'broker'
    case 'broker start'
      printf '%s\n' '--config' '-c'
    case 'broker check'
      printf '%s\n' '--config' '-c'
    case 'broker dev'
      printf '%s\n' '--data-dir' '--port' '--target-url'
    case 'broker dev-token'
      printf '%s\n' '--identity' '--group' '--data-dir'
    case 'completion'
  end
end

# Kinds of the positional arguments of a command path; "..." marks a variadic one.
function __gatectl_args
  switch "$argv[1]"
    case ''
    case 'login'
    case 'logout'
    case 'status'
    case 'targets'
    case 'request'
      printf '%s\n' 'target'
    case 'grants'
    case 'approve'
      printf '%s\n' 'none'
    case 'deny'
      printf '%s\n' 'none'
    case 'revoke'
      printf '%s\n' 'none'
    case 'review'
    case 'connect'
      printf '%s\n' 'target'
    case 'exec'
      printf '%s\n' 'target' 'command...'
    case 'broker'
    case 'broker start'
    case 'broker check'
    case 'broker dev'
    case 'broker dev-token'
    case 'completion'
      printf '%s\n' 'choice:bash|zsh|fish'
  end
end

# How the value of option $argv[2] of command path $argv[1] is completed.
function __gatectl_optkind
  switch "$argv[1]|$argv[2]"
    case 'broker start|--config' 'broker start|-c'
      echo 'file'
    case 'broker check|--config' 'broker check|-c'
      echo 'file'
    case 'broker dev|--data-dir'
      echo 'dir'
    case 'broker dev-token|--data-dir'
      echo 'dir'
    case '*'
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
  set -l subnames (__gatectl_subs '' | string replace -r '\t.*' '')
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
        set subnames (__gatectl_subs "$cmdpath" | string replace -r '\t.*' '')
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
  __gatectl_kind (string replace -r '\.\.\.$' '' -- "$kind") $self
end

complete -c gatectl -f -a '(__gatectl_complete)'
