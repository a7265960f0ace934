#!/usr/bin/env bash
# Installs what the tests and benchmarks need: every package named in
# hack/deps/*.apt (one per line). Idempotent; needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t pkgs < <(cat hack/deps/*.apt | sed 's/#.*//' | tr -s ' \t' '\n' | grep -v '^$' | sort -u)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
