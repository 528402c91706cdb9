#!/usr/bin/env bash
# Builds Whale and runs it: the real stories260K model (../shared/models) continues a prompt, then a synthetic
# R1-Distill-shaped model (random weights, so its text is gibberish; real tokenizer and chat template) answers a
# chat prompt with its "reasoning" on stderr. It also builds the chat page that `whale serve` shows at
# http://127.0.0.1:8080/ (needs Node.js/npm; skipped with a note when npm is missing).
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build src/Whale.Cli -c Release -v q -nologo
if command -v npm >/dev/null 2>&1; then bash scripts/build-web.sh; else echo "(npm not found: the chat page is not built; the API still works)"; fi
whale() { dotnet src/Whale.Cli/bin/Release/net10.0/Whale.Cli.dll "$@"; }
shared="${WHALE_SHARED:-../shared}"
echo "== stories260K (real, trained tiny llama): raw continuation"
whale run --model "$shared/models/stories260K/stories260K.gguf" --raw --prompt "Once upon a time" --temperature 0 --max-tokens 64
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo "== synthetic R1-Distill-Qwen-shaped model (random weights): chat"
whale synth --arch qwen2 --preset tiny --type Q8_0 --vocab-size 4000 --tokenizers "$shared/tokenizers" -o "$tmp/synthetic.gguf"
whale run --model "$tmp/synthetic.gguf" --prompt "What is 2+2?" --max-tokens 24 --seed 1
whale inspect "$tmp/synthetic.gguf" | tail -4
echo "== chat page: whale serve --model MODEL.gguf, then open http://127.0.0.1:8080/"
