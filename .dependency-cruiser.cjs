// Which way imports may run (issue #13): no cycle between folders (nor modules), src/shared a leaf,
// create-gate.ts the one place that wires usage and webhooks in, the core never reaches into
// adapters/, and nothing the core entry loads pulls in a framework or another optional peer.
// Run by `npm run lint` (depcruise) and `npm test` (test/architecture.test.ts, through cruise()).
/** Optional peers and UI/framework packages: only adapters and their own subpaths may load them. */
const FRAMEWORKS = '^node_modules/(express|koa|@koa|fastify|fastify-plugin|hono|@hono|@nestjs|next|react|react-dom|@tanstack)/';
const PEERS = '^node_modules/(express|koa|@koa|fastify|fastify-plugin|hono|@hono|@nestjs|next|react|react-dom|@tanstack|ioredis|@opentelemetry)/';
/** The AI SDK and the MCP SDK: each the optional peer of its own subpath only. */
const AI_SDK = '^node_modules/(ai|@ai-sdk)/';
const MCP_SDK = '^node_modules/@modelcontextprotocol/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-folder-cycles',
      comment: 'Folders import one way: shared pieces live in src/shared, and src/gate/create-gate.ts wires the parts together.',
      severity: 'error',
      scope: 'folder',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-module-cycles',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'core-not-adapters',
      comment: 'src/ is the framework-free core; adapters/ translate for it, never the other way round.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^adapters/' },
    },
    {
      name: 'core-not-frameworks',
      comment: 'Frameworks are optional peers of their own subpath (adapters/, and src/react for ecom9-gate/react); the core imports none, not even its types.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/react/' },
      to: { path: FRAMEWORKS },
    },
    {
      name: 'core-entry-loads-no-peer',
      comment: 'Importing ecom9-gate must load no optional peer (ioredis stays behind ecom9-gate/redis).',
      severity: 'error',
      from: { path: '^src/index\\.ts$' },
      to: { path: PEERS, reachable: true },
    },
    {
      name: 'core-entry-loads-no-ai-sdk',
      comment: 'Importing ecom9-gate loads neither the AI SDK nor the MCP SDK, not even their types.',
      severity: 'error',
      from: { path: '^src/index\\.ts$' },
      to: { path: [AI_SDK, MCP_SDK], reachable: true },
    },
    {
      name: 'ai-sdk-only-in-src-ai',
      comment: 'The Vercel AI SDK (`ai`) is the optional peer of ecom9-gate/ai: only src/ai names it.',
      severity: 'error',
      from: { pathNot: '^src/ai/' },
      to: { path: AI_SDK },
    },
    {
      name: 'mcp-sdk-only-in-src-mcp',
      comment: 'The MCP SDK is the optional peer of ecom9-gate/mcp: only src/mcp names it.',
      severity: 'error',
      from: { pathNot: '^src/mcp/' },
      to: { path: MCP_SDK },
    },
    {
      name: 'wired-in-create-gate',
      comment: 'Within src/gate, only create-gate.ts puts the usage recorder and the webhook processor to work (others may name their types).',
      severity: 'error',
      from: { path: '^src/gate/', pathNot: '^src/gate/create-gate\\.ts$' },
      to: { path: '^src/(usage|webhooks)/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'shared-is-a-leaf',
      comment: 'src/shared holds what every part may import; it imports nothing of theirs.',
      severity: 'error',
      from: { path: '^src/shared/' },
      to: { path: '^(src/(?!shared/)|adapters/)' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports count: a folder cycle through types is still a cycle for a reader.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'], extensions: ['.ts', '.js'] },
    // node_modules stays in the graph (not followed), or the rules about frameworks and peers could never fire.
    exclude: { path: '^dist/' },
  },
};
