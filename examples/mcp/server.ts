// Starts the MCP example (`npx tsx examples/mcp/server.ts`) against the bundled emulator unless
// ECOM9_API_KEY is set.
import { exampleGateOptions } from '../gate-options';
import { buildApp } from './app';

const port = Number(process.env.PORT ?? 3001);
const { app } = buildApp(await exampleGateOptions());
app.listen(port, '127.0.0.1', () => console.log(`MCP example on http://127.0.0.1:${port}/mcp  (bearer tokens: demo-acme, demo-globex)`));
