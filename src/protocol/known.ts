/**
 * `Known<T>`: a parsed wire type with only the properties its schema names.
 *
 * The inbound schemas are `z.looseObject`s, so what zod infers for them carries an index signature
 * (`[k: string]: unknown`): every misspelt name (`ctx.message.txet`) then compiles and reads
 * `undefined`. The exported types are these inferred types passed through `Known`, which drops
 * such signatures at every level, so zod stays the one source of the wire types and typos do not
 * compile. The unknown properties are still on the parsed objects: `extra()` (protocol/extra.ts)
 * reads them. Types only: nothing here runs, so parsing costs the same.
 */

/** A key that names one property, not an index signature. */
type NamedKey<K> = string extends K ? never : number extends K ? never : symbol extends K ? never : K;

/** True when `T` names at least one property (a record such as `userInfos` names none). */
type NamesProperties<T> = [keyof { [K in keyof T as NamedKey<K>]: 0 }] extends [never] ? false : true;

/**
 * `T` without the index signatures of loose objects, recursively through arrays, unions and
 * records. A record (an object with nothing but an index signature, such as `userInfos` keyed by
 * user id) keeps its signature: there the keys are data, not property names.
 */
export type Known<T> = T extends readonly unknown[]
  ? { [I in keyof T]: Known<T[I]> }
  : T extends object
    ? NamesProperties<T> extends true
      ? { [K in keyof T as NamedKey<K>]: Known<T[K]> }
      : { [K in keyof T]: Known<T[K]> }
    : T;
