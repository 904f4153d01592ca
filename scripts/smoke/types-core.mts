// The framework-free entries, checked with skipLibCheck off: our own .d.ts files must be clean.
import { createGate, createClient, Ecom9Error, type GateStats } from 'ecom9-gate';
import { createEmulator } from 'ecom9-gate/emulator';
import { redisBus } from 'ecom9-gate/redis';

const gate = createGate({ apiKey: 'k', bus: redisBus({ url: 'redis://127.0.0.1:6379' }) });
const stats: GateStats = gate.stats();
const client = createClient({ apiKey: 'k' });
void [stats, client, createEmulator, Ecom9Error];
