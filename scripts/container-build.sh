#!/usr/bin/env bash
# The container image's steps (Dockerfile), run WITHOUT Docker: this machine and CI have no Docker daemon, so this
# is how the image's recipe is exercised. Same order as the Dockerfile:
#   build stage:   copy pyproject.toml, README.md, src/ (what .dockerignore lets in); `pip wheel` them and every
#                  dependency into a wheel folder
#   runtime stage: a fresh virtualenv installed from that folder only (--no-index), an empty data folder for the
#                  /data volume, the image's ENV, its CMD in its WORKDIR; the HEALTHCHECK command probes /readyz
#                  until it passes; one API call (get_users) proves the installed package serves the API; then
#                  the server is stopped (SIGTERM, as `docker stop`) and everything removed.
# Differences, as `docker run -p <free port>:8000 -v <tmp>:/data` would make them: /data is a temporary folder
# and the port a free one. The Python is this machine's (python3, 3.11+), not the image's python:3.12-slim, and
# the unprivileged user is not created (no root needed here).
#
#   scripts/container-build.sh          run the steps (about 10-40 s, wheels come from pip's cache when it can)
#   scripts/container-build.sh --plan   print the image settings this script uses, in Dockerfile syntax
#                                       (tests/plugin/test_container.py compares them with the Dockerfile)
set -euo pipefail
cd "$(dirname "$0")/.."

# --- what the Dockerfile declares (keep in step with it) ---------------------------------------------------------
DATA=/data
PORT=8000
IMAGE_ENV=(PYTHONUNBUFFERED=1 LOCALSECTION_DATA_DIR=$DATA LOCALSECTION_HOST=0.0.0.0 LOCALSECTION_PORT=$PORT)
IMAGE_CMD=(localsection serve --host 0.0.0.0)
HEALTH_CMD=(python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/readyz' % os.environ.get('LOCALSECTION_PORT', '8000'), timeout=2)")
HEALTH_START_PERIOD=30

json_array() { "${PYTHON:-python3}" -c 'import json, sys; print(json.dumps(sys.argv[1:]))' "$@"; }

if [ "${1:-}" = "--plan" ]; then
  for kv in "${IMAGE_ENV[@]}"; do echo "ENV $kv"; done
  echo "VOLUME [\"$DATA\"]"
  echo "WORKDIR $DATA"
  echo "EXPOSE $PORT"
  echo "HEALTHCHECK CMD $(json_array "${HEALTH_CMD[@]}")"
  echo "CMD $(json_array "${IMAGE_CMD[@]}")"
  exit 0
fi

PYTHON="${PYTHON:-python3}"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "needs Python 3.11+ as \$PYTHON"; exit 2; }
work="$(mktemp -d "${TMPDIR:-/tmp}/localsection-image.XXXXXX")"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
started=$SECONDS

echo "== build stage: COPY pyproject.toml README.md src, pip wheel"
mkdir -p "$work/build"
tar -c --exclude='__pycache__' --exclude='*.pyc' --exclude='*.egg-info' pyproject.toml README.md src | tar -x -C "$work/build"
quiet_pip() { "$@" 2> >(grep -v "^WARNING: Location '" >&2); }  # this machine's pip.conf names a missing index
quiet_pip "$PYTHON" -m pip wheel -q --wheel-dir "$work/wheels" "$work/build"
ls "$work/wheels"/localsection-*.whl >/dev/null

echo "== runtime stage: venv from the wheels only (--no-index), data folder for the $DATA volume"
"$PYTHON" -m venv "$work/opt"
quiet_pip "$work/opt/bin/pip" install -q --no-index --find-links "$work/wheels" localsection
rm -rf "$work/wheels"
mkdir -p "$work/data"

port="$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
run_env=(env -i "HOME=$work/data" "PATH=$work/opt/bin:/usr/local/bin:/usr/bin:/bin" "${IMAGE_ENV[@]}"
         "LOCALSECTION_DATA_DIR=$work/data" "LOCALSECTION_PORT=$port")
echo "== CMD ${IMAGE_CMD[*]}  (volume $DATA -> $work/data, port $PORT -> $port)"
(cd "$work/data" && exec "${run_env[@]}" "${IMAGE_CMD[@]}") >"$work/server.log" 2>&1 &
server_pid=$!

echo "== HEALTHCHECK: ${HEALTH_CMD[*]:0:2} … /readyz"
# serve prints its banner (with the admin key read below) from a thread once uvicorn has started, so /readyz can
# answer a moment before the banner is in the log: wait for both, within the same start period.
healthy=""
announced=""
for _ in $(seq 1 $((HEALTH_START_PERIOD * 2))); do
  if ! kill -0 "$server_pid" 2>/dev/null; then break; fi
  if [ -z "$healthy" ] && (cd "$work/data" && "${run_env[@]}" "${HEALTH_CMD[@]}") >/dev/null 2>&1; then healthy=1; fi
  if grep -q "localsection is serving the Worksection API" "$work/server.log"; then announced=1; fi
  if [ -n "$healthy" ] && [ -n "$announced" ]; then break; fi
  sleep 0.5
done
if [ -z "$healthy" ]; then
  echo "the server did not become healthy; its output:"; cat "$work/server.log"; exit 1
fi
if [ -z "$announced" ]; then
  echo "the server is healthy but printed no banner; its output:"; cat "$work/server.log"; exit 1
fi
[ -f "$work/data/localsection.db" ] || { echo "no database in the data volume"; ls -la "$work/data"; exit 1; }
# The API answers from the installed wheel (actions, templates and migrations are package data): get_users
# with the key the server printed, signed the md5 way.
key="$(sed -n 's/^  admin API key: *//p' "$work/server.log")"
"$work/opt/bin/python" - "$port" "$key" <<'PY' || { cat "$work/server.log"; exit 1; }
import hashlib, json, sys, urllib.request
port, key = sys.argv[1], sys.argv[2]
query = "action=get_users"
url = f"http://127.0.0.1:{port}/api/admin/v2/?{query}&hash={hashlib.md5((query + key).encode()).hexdigest()}"
body = json.load(urllib.request.urlopen(url, timeout=10))
assert body["status"] == "ok" and body["data"][0]["email"], body
print(f"== API: get_users answered {len(body['data'])} user(s)")
PY

echo "== docker stop: SIGTERM"
kill -TERM "$server_pid"
status=0
wait "$server_pid" || status=$?
server_pid=""
# uvicorn shuts down gracefully, then ends by the signal it got (128 + 15): both mean a clean stop.
if { [ "$status" -ne 0 ] && [ "$status" -ne 143 ]; } || ! grep -q "Application shutdown complete" "$work/server.log"; then
  echo "the server did not stop cleanly on SIGTERM (status $status)"; cat "$work/server.log"; exit 1
fi
echo "image steps OK: built, installed, healthy on /readyz, stopped cleanly ($((SECONDS - started)) s)"
