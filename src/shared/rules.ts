// The input rules every entry point shares (gate, middlewares, usage recorder, client), stated once:
// what a quantity is, what a product, meter, entitlement, tier or subscription code is, and which 404s
// are ecom9's own answer rather than a wrong baseUrl.
import { z } from 'zod';
import { NotFoundError } from './errors';

/** A quantity of credits or usage: a whole number above 0 that a double holds exactly. */
export function isQuantity(v: unknown): v is number {
  return Number.isSafeInteger(v) && (v as number) > 0;
}

/**
 * A product, meter, entitlement, tier or subscription code: a non-empty string without NUL (the
 * cache and the usage aggregator join codes with NUL, so one inside a code could alias another's).
 */
export function isCode(v: unknown): v is string {
  return typeof v === 'string' && v !== '' && !v.includes('\u0000');
}

/** isQuantity and isCode for zod schemas (the usage event and its journal). */
export const quantitySchema = z.number().refine(isQuantity, 'must be a positive integer');
export const codeSchema = z.string().refine(isCode, 'must be a non-empty code without NUL');

/**
 * ecom9's own 404 (an unknown account, tier, subscription or link), told by its documented
 * `{"error": "..."}` body. A 404 without it comes from something else at baseUrl: a misconfiguration.
 */
export function isEcom9NotFound(e: unknown): boolean {
  if (!(e instanceof NotFoundError)) return false;
  const body = e.body as { error?: unknown } | null | undefined;
  return typeof body === 'object' && body !== null && typeof body.error === 'string';
}
