#!/usr/bin/env bash
# Builds Whale, asks the embedded default model (models/whale-r1-tiny.gguf, a DeepSeek-V3-architecture model Whale
# trains itself: docs/TRAINING.md) one question, builds the chat page (web/,
# needs Node.js and npm) and serves it: the chat page at http://127.0.0.1:8080/ and the
# OpenAI/DeepSeek-compatible API at /v1. Ctrl+C stops the server. WHALE_DEMO_NO_SERVE=1 skips serving.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
port="${WHALE_PORT:-8080}"
dotnet build src/Whale.Cli -c Release -v q -nologo
if command -v npm >/dev/null 2>&1; then bash scripts/build-web.sh; else echo "(npm not found: the chat page is not built; the API still works)"; fi
whale() { dotnet src/Whale.Cli/bin/Release/net10.0/Whale.Cli.dll "$@"; }
echo "== the default model answers (reasoning on stderr, answer on stdout)"
whale run --prompt "What is 4821 + 379?" --temperature 0 --max-tokens 256
if [ -n "${WHALE_DEMO_NO_SERVE:-}" ]; then exit 0; fi
echo "== whale serve: open http://127.0.0.1:$port/ for the chat page; API at http://127.0.0.1:$port/v1 (Ctrl+C stops)"
exec dotnet src/Whale.Cli/bin/Release/net10.0/Whale.Cli.dll serve --host 127.0.0.1 --port "$port"
