// ESM loader hook for bare.mjs: appends the package name of every bare specifier resolved.
import { appendFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';

let log;
export function initialize(data) {
  log = new URL(data.log);
}
export async function resolve(specifier, context, next) {
  if (!/^[./]|^file:|^data:/.test(specifier) && !isBuiltin(specifier)) {
    const parts = specifier.split('/');
    appendFileSync(log, `${specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]}\n`);
  }
  return next(specifier, context);
}
