// Compile-time checks that a hand-written public interface and the zod schema checking it at run time
// agree. Types only: nothing here reaches the bundle.

/**
 * True when A and B are mutually assignable and have the same keys: assignability alone would not see
 * an optional field that one of them lacks.
 */
export type SameShape<A, B> = [A, keyof A] extends [B, keyof B] ? ([B, keyof B] extends [A, keyof A] ? true : false) : false;

/** Compiles only when given `true`: `type _check = Expect<SameShape<Written, z.input<typeof schema>>>`. */
export type Expect<T extends true> = T;
