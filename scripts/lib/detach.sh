# Sourced by scripts that start long-running servers in the background.
#
# close_inherited_fds: closes every descriptor above 2 in the current (sub)shell. Call it in the
# subshell that execs a server: a server must not inherit the caller's descriptors, or a test
# runner waiting for the starting script (Foundation's Process watches a descriptor it passes to
# the child) would also wait for the server.
close_inherited_fds() {
  local fd n
  for fd in /proc/self/fd/*; do n=${fd##*/}; [ "$n" -gt 2 ] 2>/dev/null && eval "exec $n>&-" 2>/dev/null; done
  return 0
}
