// ecom9-gate is loaded from node_modules at run time, not bundled: one copy of its module state for the
// route handlers and the proxy, and its Node built-ins left as they are.
/** @type {import('next').NextConfig} */
export default {
  serverExternalPackages: ['ecom9-gate'],
  // The example links the package from ../.. (file:); its sources live outside this folder.
  outputFileTracingRoot: new URL('../..', import.meta.url).pathname,
};
