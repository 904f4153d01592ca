// Starts the Koa example (against the bundled emulator unless ECOM9_API_KEY is set).
import { exampleGateOptions } from '../gate-options';
import { buildApp } from './app';

const port = Number(process.env.PORT ?? 3000);
const { app } = buildApp(await exampleGateOptions());
app.listen(port, '127.0.0.1', () =>
  console.log(`Koa example on http://127.0.0.1:${port}  (try: curl -H 'x-account-id: acme' http://127.0.0.1:${port}/reports)`),
);
