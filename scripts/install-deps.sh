#!/usr/bin/env bash
# Installs the Debian packages payengine needs to build, test and run.
# Idempotent: packages already present are not touched, and nothing is
# downloaded but Debian packages by name.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config
  libcaf-dev librdkafka-dev libsqlite3-dev sqlite3 prometheus-cpp-dev
  libboost-dev libboost-test-dev
  libyaml-cpp-dev nlohmann-json3-dev libsimdjson-dev libcli11-dev libspdlog-dev libxml2-dev libjemalloc-dev
  kcat curl wrk prometheus nginx-light
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
