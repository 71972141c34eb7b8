# Sourced by tools/*.sh: prints the string lib/versions.ts pins under key $1, so each version lives only there.
pinned() {
  local v
  v=$(sed -n "s/^  $1: \"\\([^\"]*\\)\",\$/\\1/p" "$(dirname "${BASH_SOURCE[0]}")/../lib/versions.ts")
  [ -n "$v" ] || {
    echo "$(basename "$0"): no $1 version found in lib/versions.ts (a line '  $1: \"<version>\",')" >&2
    return 1
  }
  printf '%s\n' "$v"
}
