# Sourced by the scripts that start and stop long-running servers in the background.

# close_inherited_fds: closes every descriptor above 2 in the current (sub)shell. Call it in the
# subshell that execs a server: a server must not inherit the caller's descriptors, or a test
# runner waiting for the starting script (Foundation's Process watches a descriptor it passes to
# the child) would also wait for the server.
close_inherited_fds() {
  local fd n
  for fd in /proc/self/fd/*; do n=${fd##*/}; [ "$n" -gt 2 ] 2>/dev/null && eval "exec $n>&-" 2>/dev/null; done
  return 0
}

# stop_pid_file FILE [TENTHS]: SIGTERM to the process whose PID FILE holds, up to TENTHS tenths of
# a second (default 100) for it to exit, then SIGKILL; removes FILE. No file: nothing to do.
stop_pid_file() {
  local file=$1 tenths=${2:-100} pid
  [ -f "$file" ] || return 0
  pid=$(cat "$file")
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 "$tenths"); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$file"
}
