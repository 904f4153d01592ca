#!/usr/bin/env node
// ecom9-gate-emulator: runs the local ecom9, its console page and API, until interrupted. A bad flag or
// fixtures file exits 2 with a message naming it (and the nearest known flag).
import { parseArgs } from 'node:util';
import { OptionsError } from '../shared/errors';
import { createEmulator } from './index';
import { didYouMean } from '../shared/nearest-name';

const FLAGS = {
  port: { type: 'string', default: '4010' },
  host: { type: 'string', default: '127.0.0.1' },
  fixtures: { type: 'string' },
  'api-key': { type: 'string' },
  'webhook-url': { type: 'string', multiple: true },
  help: { type: 'boolean', short: 'h' },
} as const;
const USAGE =
  'usage: ecom9-gate-emulator [--port 4010] [--host 127.0.0.1] [--fixtures file.json] [--api-key KEY] [--webhook-url URL]...\n' +
  '  --webhook-url  where changes made in the console are sent as signed webhooks (repeatable)';

function fail(message: string): never {
  console.error(`ecom9-gate-emulator: ${message}\n${USAGE}`);
  process.exit(2);
}

function parse() {
  try {
    return parseArgs({ options: FLAGS, strict: true, allowPositionals: false }).values;
  } catch (err) {
    // node:util names the bad token in quotes: "Unknown option '--prot'", "Option '--port <value>' argument missing".
    const code = (err as { code?: string }).code;
    const token = /'(-[^' ]+)/.exec((err as Error).message)?.[1] ?? '';
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const name = token.replace(/^-+/, '').split('=')[0] ?? '';
      return fail(`unknown flag "${token}"${didYouMean(name, Object.keys(FLAGS), (s) => `"--${s}"`)}`);
    }
    if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return fail(`unexpected argument ${(err as Error).message.replace(/^.*?'/, "'")}`);
    return fail((err as Error).message);
  }
}

const values = parse();
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const port = Number(values.port);
if (!/^\d+$/.test(values.port) || port > 65_535) fail(`--port must be a port number (0-65535), not "${values.port}"`);

let emu: ReturnType<typeof createEmulator>;
try {
  emu = createEmulator({
    ...(values.fixtures ? { fixtures: values.fixtures } : {}),
    ...(values['api-key'] ? { apiKey: values['api-key'] } : {}),
    webhookUrls: values['webhook-url'] ?? [],
  });
} catch (err) {
  if (!(err instanceof OptionsError)) throw err;
  // The emulator names webhookUrls.N; the user typed --webhook-url.
  fail(err.message.replace(/^ecom9-gate: emulator: /, '').replace(/"webhookUrls\.(\d+)"/, (_, i) => `--webhook-url #${Number(i) + 1}`));
}
const url = await emu.listen(port, values.host).catch((err: NodeJS.ErrnoException) => {
  console.error(
    `ecom9-gate-emulator: cannot listen on ${values.host}:${port}: ${err.code === 'EADDRINUSE' ? 'the port is in use (try --port 0)' : err.message}`,
  );
  process.exit(1);
});
console.log(`ecom9 emulator listening on ${url}`);
console.log(`  console:        ${emu.consoleUrl}`);
console.log(`  API key:        ${emu.apiKey}   (an emulator key, not a secret)`);
console.log(`  webhook secret: ${emu.webhookSecret}`);
console.log(`  webhooks to:    ${emu.webhookUrls.length ? emu.webhookUrls.join(', ') : 'nowhere (add --webhook-url URL)'}`);
const stop = () => void emu.close().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
