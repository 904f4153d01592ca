// Real Redis for the multi-instance tests: the machine's server on 6379 (started when it is not
// answering), and private servers on their own ports for tests that stop and restart Redis.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { accessSync, constants, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

async function answers(url: string): Promise<boolean> {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  r.on('error', () => {});
  try {
    await r.connect();
    return (await r.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

/** A folder redis-server can write to: the machine's own, else (not root, another OS) a temporary one. */
function writableDir(preferred: string): string {
  try {
    mkdirSync(preferred, { recursive: true });
    accessSync(preferred, constants.W_OK);
    return preferred;
  } catch {
    return mkdtempSync(join(tmpdir(), 'ecom9-gate-redis-'));
  }
}

/** The shared Redis on 127.0.0.1:6379, started the way the machine's docs say when it is down. */
export async function ensureRedis(): Promise<string> {
  const url = 'redis://127.0.0.1:6379';
  if (await answers(url)) return url;
  const dir = writableDir('/var/lib/redis');
  const logDir = writableDir('/var/log/redis');
  const started = spawnSync('redis-server', [
    '--daemonize',
    'yes',
    '--bind',
    '127.0.0.1',
    '-::1',
    '--port',
    '6379',
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    dir,
    '--logfile',
    join(logDir, 'ci.log'),
  ]);
  if (started.error) {
    throw new Error(
      'The multi-instance tests need Redis: nothing answers on 127.0.0.1:6379 and redis-server is not installed (apt install redis-server, brew install redis)',
    );
  }
  for (let i = 0; i < 50; i++) {
    if (await answers(url)) return url;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Redis is not answering on 127.0.0.1:6379 and could not be started (see ${join(logDir, 'ci.log')})`);
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/**
 * A Redis of the test's own, on a free port, that the test can stop and start again, or pause
 * (SIGSTOP: connections stay open, nothing is answered). `started: false` leaves it down at first.
 */
export async function privateRedis({ started = true, args = [] as string[] } = {}) {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let proc: ChildProcess | undefined;
  const start = async () => {
    proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...args], { stdio: 'ignore' });
    for (let i = 0; i < 100; i++) {
      if (await answers(url)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`private redis on ${port} did not start`);
  };
  const stop = async () => {
    if (!proc || proc.exitCode !== null) return;
    const p = proc;
    p.kill('SIGKILL');
    await new Promise((r) => p.once('exit', r));
  };
  const signal = (sig: NodeJS.Signals) => () => void proc?.kill(sig);
  if (started) await start();
  return { url, start, stop, pause: signal('SIGSTOP'), resume: signal('SIGCONT') };
}

/**
 * A TCP proxy to `url` that holds every chunk a client sends for `delayMs` (what reaches the client
 * is not delayed), as a far-away Redis would: a command is written long before the server sees it.
 */
export async function laggingProxy(url: string, delayMs: number) {
  const target = new URL(url);
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('data', (chunk) => setTimeout(() => upstream.write(chunk), delayMs));
    upstream.pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `redis://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
