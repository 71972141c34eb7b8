#!/usr/bin/env bash
# Runs shellcheck over every shell script of the project: scripts/, the fakes, CI, tools/. No exclusions.
# Then shfmt -d over the same files but the fakes (test doubles kept in their dense one-line style): two-space
# indent and indented case patterns (-i 2 -ci), the style the scripts were written in.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v shellcheck >/dev/null || {
  echo "shellcheck is not installed (apt-get install shellcheck)" >&2
  exit 1
}
command -v shfmt >/dev/null || {
  echo "shfmt is not installed (apt-get install shfmt)" >&2
  exit 1
}
mapfile -t files < <(git ls-files -co --exclude-standard 'scripts/*.sh' 'test/fakes/*' 'test/*.sh' '.ci/*' 'tools/*.sh')
shellcheck --shell=bash --severity=style "${files[@]}"
echo "shellcheck: ${#files[@]} files clean"
mapfile -t formatted < <(git ls-files -co --exclude-standard 'scripts/*.sh' 'test/*.sh' '.ci/*' 'tools/*.sh')
shfmt -d -i 2 -ci "${formatted[@]}"
echo "shfmt: ${#formatted[@]} files formatted"
