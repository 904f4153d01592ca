#!/usr/bin/env bash
# Packs the package (prepack builds it from the current sources), installs the tarball in scratch
# projects and uses it: every subpath as ESM, as CJS and from TypeScript (moduleResolution nodenext)
# with the current framework majors; the core and the emulator with no framework installed at all;
# Express 4 and Koa 2, the oldest majors the peer ranges allow; and that the README's links resolve
# inside the tarball.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$root"
smoke="$root/scripts/smoke"
npm pack --silent --pack-destination "$work" >/dev/null

# The docs reach npm users: every relative link of the shipped Markdown resolves inside the tarball.
npx --no-install tsx scripts/package-links.ts "$work"/ecom9-gate-*.tgz

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
      else if (/^(express|koa|fastify|fastify-plugin|ioredis|@opentelemetry)(\/|$)/.test(spec)) { console.error(`dist/index.js imports ${spec} via ${f}`); process.exit(1); }
    }
  }
  console.log(`core ESM graph: ${seen.size} files, no framework`);
'

mkdir "$work/current" && cd "$work/current"
cp "$smoke"/{esm.mjs,cjs.cjs,types.mts,types.cts,types-core.mts,exports.json} .
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
install() { npm install --silent --no-audit --no-fund --prefer-offline "$@" >/dev/null; }
install ../ecom9-gate-*.tgz express@5 koa@3 fastify@5 fastify-plugin@5 ioredis@5 @opentelemetry/api@1.9 typescript@~5.9.3 @types/node@20 @types/express@5 @types/koa@3
node esm.mjs
node cjs.cjs
npx --no-install tsc -p tsconfig.json
npx --no-install tsc -p tsconfig.core.json
echo "types (nodenext, .mts and .cts): ok"

# No peer installed: a static import of a framework would fail to load, and bare.* log every package
# loaded, so a dynamic or guarded one is caught too.
mkdir "$work/bare" && cd "$work/bare"
cp "$smoke"/{bare.mjs,bare.cjs,resolve-log.mjs} .
echo '{ "name": "ecom9-gate-smoke-bare", "private": true, "version": "0.0.0" }' > package.json
install ../ecom9-gate-*.tgz
node bare.mjs
node bare.cjs

mkdir "$work/legacy" && cd "$work/legacy"
echo '{ "name": "ecom9-gate-smoke-legacy", "private": true, "version": "0.0.0", "type": "module" }' > package.json
cp "$smoke"/legacy.mjs .
install ../ecom9-gate-*.tgz express@4 koa@2
node legacy.mjs
