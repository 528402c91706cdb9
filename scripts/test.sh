#!/usr/bin/env bash
# Runs every test of the solution (what CI runs). Usage: bash scripts/test.sh [extra dotnet test args]
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
# The chat page (web/dist) and playwright-core (web/node_modules) for the browser tests; without npm those tests are
# skipped on a developer's machine and fail under CI.
if command -v npm >/dev/null 2>&1; then bash scripts/build-web.sh; else echo "test.sh: npm not found; the browser tests will be skipped (or fail under CI)" >&2; fi
dotnet build Whale.sln -c Release
results="$(mktemp -d)"
status=0
dotnet test Whale.sln -c Release --no-build --logger trx --results-directory "$results" "$@" || status=$?
# One plain closing line that any CI log reader understands.
python3 - "$results" <<'PY' || true
import sys, glob, re
p = f = s = 0
for path in glob.glob(sys.argv[1] + "/**/*.trx", recursive=True):
    text = open(path, encoding="utf-8").read()
    m = re.search(r'<Counters [^>]*', text)
    if m:
        c = dict(re.findall(r'(\w+)="(\d+)"', m.group(0)))
        p += int(c.get("passed", 0)); f += int(c.get("failed", 0)); s += int(c.get("notExecuted", 0))
print(f"{p} passed, {f} failed, {s} skipped")
PY
exit $status
