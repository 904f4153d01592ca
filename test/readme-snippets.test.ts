// The README's code compiles as a user's would: every ts, tsx and js block is type-checked with the
// TypeScript compiler against the package's sources, under `strict` and `exactOptionalPropertyTypes`.
// Each block is a module of its own; what a block only alludes to (your `handler`, your auth's
// `req.user`, the `gate` made in an earlier block) is declared once below, as a user's app has it.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

/** What the blocks use without making it: earlier blocks' objects, your handlers and your auth. */
const AMBIENT = `
import type { Gate } from 'ecom9-gate';
import type { ExpressGate } from 'ecom9-gate/express';
import type { Express, RequestHandler } from 'express';
import type Router from '@koa/router';
import type { ReactNode } from 'react';
import type { wrapLanguageModel } from 'ai';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
declare global {
  const base: Parameters<typeof wrapLanguageModel>[0]['model'];
  const user: { orgId: string };
  const server: McpServer;
  const inputSchema: any;
  const gate: Gate;
  const app: Express;
  const ecom9: ExpressGate;
  const router: Router;
  const url: string;
  const handler: any;
  function getSession(req: Request): Promise<{ orgId: string } | undefined>;
  function Upgrade(): ReactNode;
  function Reports(): ReactNode;
}
declare module 'express-serve-static-core' {
  interface Request { user?: { orgId: string } }
}
declare module 'fastify' {
  interface FastifyRequest { user?: { orgId: string } }
}
declare module 'hono' {
  interface ContextVariableMap { user: { orgId: string } | undefined }
}
export {};
`;

interface Snippet {
  line: number;
  lang: string;
  code: string;
}

function snippets(md: string): Snippet[] {
  const out: Snippet[] = [];
  const re = /^```(ts|tsx|js|typescript|javascript)\n([\s\S]*?)^```/gm;
  for (let m = re.exec(md); m; m = re.exec(md)) {
    out.push({ line: md.slice(0, m.index).split('\n').length, lang: m[1] as string, code: m[2] as string });
  }
  return out;
}

function compile(blocks: Snippet[]): Map<number, string[]> {
  const files = new Map<string, string>();
  files.set(`${root}readme/ambient.ts`, AMBIENT);
  const names = new Map<string, number>();
  for (const b of blocks) {
    const ext = b.lang === 'tsx' ? 'tsx' : b.lang.startsWith('j') ? 'js' : 'ts';
    const name = `${root}readme/line-${b.line}.${ext}`;
    files.set(name, `${b.code}\nexport {};\n`);
    names.set(name, b.line);
  }
  const config = ts.readConfigFile(`${root}tsconfig.json`, ts.sys.readFile).config as { compilerOptions: Record<string, unknown> };
  const { options } = ts.convertCompilerOptionsFromJson(
    {
      ...config.compilerOptions,
      strict: true,
      exactOptionalPropertyTypes: true,
      noUncheckedIndexedAccess: false,
      verbatimModuleSyntax: false,
      allowJs: true,
      checkJs: true,
      jsx: 'react-jsx',
      lib: ['ES2023', 'DOM'],
      noEmit: true,
    },
    root,
  );
  const host = ts.createCompilerHost(options);
  const readFile = host.readFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  const getSourceFile = host.getSourceFile.bind(host);
  host.readFile = (f) => files.get(f) ?? readFile(f);
  host.fileExists = (f) => files.has(f) || fileExists(f);
  host.getSourceFile = (f, lang, ...rest) => {
    const text = files.get(f);
    return text === undefined ? getSourceFile(f, lang, ...rest) : ts.createSourceFile(f, text, lang, true);
  };
  const program = ts.createProgram([...files.keys()], options, host);
  const errors = new Map<number, string[]>();
  for (const [name, line] of names) {
    const sf = program.getSourceFile(name);
    if (!sf) throw new Error(`not compiled: ${name}`);
    const diags = [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)];
    if (diags.length === 0) continue;
    errors.set(
      line,
      diags.map((d) => {
        const at = d.start === undefined ? 0 : sf.getLineAndCharacterOfPosition(d.start).line;
        return `README.md:${line + 1 + at}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
      }),
    );
  }
  return errors;
}

describe("the README's code", () => {
  const blocks = snippets(readme);

  it('has code blocks to check', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(10);
  });

  it('compiles under strict and exactOptionalPropertyTypes', { timeout: 120_000 }, () => {
    const errors = compile(blocks);
    expect([...errors.values()].flat()).toEqual([]);
  });
});
