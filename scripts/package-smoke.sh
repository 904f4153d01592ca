#!/usr/bin/env bash
# Packs the package, installs the tarball in a scratch project and uses every subpath as ESM, as CJS
# and from TypeScript (moduleResolution nodenext). Run after `npm run build`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$root"
npm pack --silent --pack-destination "$work" >/dev/null
cp scripts/smoke/* "$work/"

# The core entry's ESM graph must not import a framework (the CJS check is in cjs.cjs).
node -e '
  const fs = require("fs"), path = require("path");
  const seen = new Set(), todo = ["dist/index.js"];
  while (todo.length) {
    const f = todo.pop(); if (seen.has(f)) continue; seen.add(f);
    const src = fs.readFileSync(f, "utf8");
    for (const m of src.matchAll(/(?:from|import)\s*["\x27]([^"\x27]+)["\x27]/g)) {
      const spec = m[1];
      if (spec.startsWith(".")) todo.push(path.join(path.dirname(f), spec));
      else if (/^(express|koa|fastify|fastify-plugin|ioredis)(\/|$)/.test(spec)) { console.error(`dist/index.js imports ${spec} via ${f}`); process.exit(1); }
    }
  }
  console.log(`core ESM graph: ${seen.size} files, no framework`);
'

cd "$work"
cat > package.json <<'JSON'
{ "name": "ecom9-gate-smoke", "private": true, "version": "0.0.0" }
JSON
cat > tsconfig.json <<'JSON'
{ "compilerOptions": { "module": "nodenext", "moduleResolution": "nodenext", "target": "es2022", "strict": true, "noEmit": true, "skipLibCheck": true, "types": ["node"] }, "files": ["types.mts", "types.cts"] }
JSON
# With the frameworks, skipLibCheck is on (@types/koa and content-disposition disagree, not our doing);
# the framework-free entries are checked with it off, so our own declarations are checked too.
cat > tsconfig.core.json <<'JSON'
{ "compilerOptions": { "module": "nodenext", "moduleResolution": "nodenext", "target": "es2022", "strict": true, "noEmit": true, "skipLibCheck": false, "types": ["node"] }, "files": ["types-core.mts"] }
JSON
npm install --silent --no-audit --no-fund --prefer-offline ./ecom9-gate-*.tgz \
  express@5 koa@3 fastify@5 fastify-plugin@5 ioredis@5 typescript@~5.9.3 @types/node@20 @types/express@5 @types/koa@3 >/dev/null
node esm.mjs
node cjs.cjs
npx --no-install tsc -p tsconfig.json
npx --no-install tsc -p tsconfig.core.json
echo "types (nodenext, .mts and .cts): ok"
