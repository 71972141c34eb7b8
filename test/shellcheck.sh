#!/usr/bin/env bash
# Runs shellcheck over every shell script of the project: scripts/, the fakes, CI, tools/. No exclusions.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v shellcheck >/dev/null || { echo "shellcheck is not installed (apt-get install shellcheck)" >&2; exit 1; }
mapfile -t files < <(git ls-files -co --exclude-standard 'scripts/*.sh' 'test/fakes/*' 'test/*.sh' '.ci/*' 'tools/*.sh')
shellcheck --shell=bash --severity=style "${files[@]}"
echo "shellcheck: ${#files[@]} files clean"
