#!/usr/bin/env bash
# ClusterMesh readiness (on the control plane): placeholder until the real wait lands; it checks nothing yet.
set -euo pipefail
exit 0
