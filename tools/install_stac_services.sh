#!/usr/bin/env bash
# Installs the Debian packages of the local STAC services the tests start
# (agrifactory.testing.stac_services; docs/stac.md): PostgreSQL 15 with PostGIS 3
# (the database of stac-fastapi-pgstac) and nginx (serves COGs, honours Range requests).
# Only what is missing is installed; nothing is started (the tests start their own
# processes, on free ports, in a temporary folder).
#
# Debian 12, as root. Environment: SKIP_APT_UPDATE=1 to skip `apt-get update`.
set -euo pipefail

PACKAGES=(postgresql-15 postgresql-15-postgis-3 nginx)

log() { printf '[install_stac_services %(%H:%M:%S)T] %s\n' -1 "$*"; }

if [[ ! -r /etc/debian_version ]] || ! command -v apt-get >/dev/null; then
  log "this script installs Debian packages (${PACKAGES[*]}); this system is not Debian"
  exit 1
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  log "already installed: ${PACKAGES[*]}"
  exit 0
fi
if ((EUID != 0)); then
  log "missing Debian packages: ${missing[*]}; run this script as root (or: sudo $0)"
  exit 1
fi

log "installing ${missing[*]}"
[[ ${SKIP_APT_UPDATE:-0} == 1 ]] || apt-get update -qq
# The packages' postinst scripts must not start system services (nginx on port 80, a
# PostgreSQL cluster): the tests start their own. Where no policy-rc.d is in place, one
# that refuses every start (exit 101, Debian's policy-rc.d convention) is put there
# for the install and removed after it.
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
log "installed ${missing[*]}"
