#!/usr/bin/env node
// ecom9-gate-emulator: runs the local ecom9 until interrupted.
import { parseArgs } from 'node:util';
import { createEmulator } from './index';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '4010' },
    host: { type: 'string', default: '127.0.0.1' },
    fixtures: { type: 'string' },
    'api-key': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});

if (values.help) {
  console.log('usage: ecom9-gate-emulator [--port 4010] [--host 127.0.0.1] [--fixtures file.json] [--api-key KEY]');
  process.exit(0);
}

const emu = createEmulator({ ...(values.fixtures ? { fixtures: values.fixtures } : {}), ...(values['api-key'] ? { apiKey: values['api-key'] } : {}) });
const url = await emu.listen(Number(values.port), values.host);
console.log(`ecom9 emulator listening on ${url}`);
console.log(`  API key:        ${emu.apiKey}   (an emulator key, not a secret)`);
console.log(`  webhook secret: ${emu.webhookSecret}`);
const stop = () => void emu.close().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
