#!/usr/bin/env bash
# Drives the built server with the official MCP Inspector CLI: tools/list, and a tools/call of list_instance_types
# on the emulators. Needs `npm run build` first; Node 22 comes from the npm registry (the Inspector needs it).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="$(mktemp -d)"
inspect() { COMPUTE_MCP_EMULATOR_PACE=instant npx -y -p node@22 -p @modelcontextprotocol/inspector@2.12.0 -- mcp-inspector --cli node dist/index.js --emulate "$@" --format json -q; }
inspect --method tools/list > "$OUT/list.json"
inspect --method tools/call --tool-name list_instance_types --tool-args-json '{"gpu":"h100","limit":1}' > "$OUT/call.json"
node -e '
const fs = require("fs");
const list = JSON.parse(fs.readFileSync(process.argv[1])).result.tools;
const call = JSON.parse(fs.readFileSync(process.argv[2])).result;
if (list.length !== 14) throw new Error(`expected 14 tools, got ${list.length}`);
const item = call.structuredContent.items[0];
if (!item || item.gpu.model !== "H100" || !item.provider) throw new Error("unexpected list_instance_types result: " + JSON.stringify(call));
console.log(`inspector: ${list.length} tools listed; list_instance_types found ${item.provider} ${item.id} at $${item.price.usd_per_hour}/h`);
' "$OUT/list.json" "$OUT/call.json"
