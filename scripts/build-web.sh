#!/usr/bin/env bash
# Builds the chat page (web/ -> web/dist/, served by `whale serve` at /): npm install when node_modules is missing or older
# than package-lock.json, then vite build. Usage: bash scripts/build-web.sh
set -euo pipefail
cd "$(dirname "$0")/../web"
if ! command -v npm >/dev/null 2>&1; then
  echo "build-web: npm not found; install Node.js 20+ to build the chat page (the API works without it)" >&2
  exit 1
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # npm ci refuses this lock file (npm 11 records an optional Windows-only dependency of a dependency without a
  # version); npm install honours the lock file for everything else.
  npm install --no-audit --no-fund --loglevel=error
fi
npm run --silent build -- --logLevel warn
echo "chat page built: web/dist"
