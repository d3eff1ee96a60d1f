// JSON schemas that become a sampling grammar. The two bindings convert schemas with
// different code (node-llama-cpp's own GBNF builder, llama.cpp's json-schema-to-grammar
// in llama.node) and each silently ignores keywords it does not know, so a schema with
// "pattern" or "minimum" would give answers that parse but do not validate. Only the
// keywords both converters enforce are accepted; any other is refused by name, up front.
import { AppError } from '../ipc/errors.js'

/** Keywords that only describe: the converters skip them, and skipping them changes no answer's validity. */
const ANNOTATIONS = new Set([
  'title',
  'description',
  '$schema',
  '$id',
  '$comment',
  'default',
  'examples',
  'deprecated',
  'readOnly',
  'writeOnly',
])

/** Keywords both converters turn into grammar rules (node-llama-cpp's GbnfJsonSchema type lists its side). */
const ENFORCED = new Set([
  'type',
  'properties',
  'required',
  'additionalProperties',
  'minProperties',
  'maxProperties',
  'items',
  'prefixItems',
  'minItems',
  'maxItems',
  'minLength',
  'maxLength',
  'format',
  'enum',
  'const',
  'oneOf',
  'anyOf',
  '$ref',
  '$defs',
])

const STRING_KEYWORDS = ['minLength', 'maxLength', 'format'] as const
const SCALAR_TYPES = new Set(['string', 'number', 'integer', 'boolean', 'null'])
/** node-llama-cpp knows these string formats; llama.cpp knows more, the intersection is what holds. */
const FORMATS = new Set(['date-time', 'date', 'time'])
/** Deep schemas make deep grammars; a real answer format never needs this many levels. */
const MAX_DEPTH = 32
/**
 * llama.cpp's grammar parser (llama-grammar.cpp, MAX_REPETITION_THRESHOLD) refuses to repeat a
 * group once the rules first named inside it, times the repeats, reach 2,000 ("exceeds sane
 * defaults"; an optional group `( … )?` is repeated once): node-llama-cpp and llama-server then
 * fail the request with a 500, and llama.node aborts the engine process. The bounds below keep
 * every group that either converter writes for a schema under it.
 */
const GROUP_RULES = 2000
/**
 * node-llama-cpp writes a count as a group of two rules, `( string-char-rule ){0,n}`: 2n must stay
 * under the limit (maxLength 1,000 failed). llama.cpp's list, `( item ( "," item ){0,n-1} )?`,
 * holds n + 2 (maxItems 1,998 aborted llama.node).
 */
const MAX_COUNT = Math.floor((GROUP_RULES - 1) / 2)
/**
 * llama.cpp writes an object's optional properties as the alternatives of one `( … )?` group,
 * two rules for each (its key and value, and the rest after it) and at most five others (the
 * group, one more after required properties, three for additionalProperties): 1,000 optional
 * properties aborted llama.node.
 */
const MAX_OPTIONAL = Math.floor((GROUP_RULES - 6) / 2)
const COUNT_PAIRS = [
  ['minLength', 'maxLength'],
  ['minItems', 'maxItems'],
  ['minProperties', 'maxProperties'],
] as const

export type JsonSchema = Record<string, unknown>

/**
 * A grammar integer (without its sign): JSON's integer syntax, at most 15 digits. 16 can pass
 * 2^53, and a JavaScript client (parseForcedCall's JSON.parse among them) would read another number.
 */
export const GRAMMAR_INTEGER = '"0" | [1-9] [0-9]{0,14}'
/** A grammar number: the converters' exponents have any length, and 1E99999 parses as Infinity, which no schema number is. */
export const GRAMMAR_NUMBER = '"-"? ("0" | [1-9] [0-9]{0,15}) ("." [0-9]{1,16})? ([eE] [-+]? [0-9]{1,2})?'

/**
 * A schema as OpenAI's own client helpers write it, in the dialect checkJsonSchema reads.
 * Their zod conversion is draft-07: shared and recursive schemas sit in "definitions" and are
 * referred to as "#/definitions/…", where the grammar converters read "$defs"; and every integer
 * comes with minimum -(2^53-1) and maximum 2^53-1, bounds no grammar integer (15 digits at most)
 * can reach, so they are dropped as the annotations they are. Anything else is left for the
 * check to judge.
 */
export function fromClientSchema(schema: JsonSchema): JsonSchema {
  // With both, nothing is renamed: the check refuses "definitions" by name.
  const rename = !(Object.hasOwn(schema, '$defs') && Object.hasOwn(schema, 'definitions'))
  return fromClientNode(schema, 0, rename) as JsonSchema
}

/** Where checkJsonSchema reads schemas below a schema: a map of them, one, or a list. */
const SCHEMA_MAPS = new Set(['properties', '$defs', 'definitions'])
const SCHEMA_VALUES = new Set(['items', 'additionalProperties'])
const SCHEMA_LISTS = new Set(['prefixItems', 'oneOf', 'anyOf'])

/** One schema and those below it, level by level as the check walks them; any other value is copied as it is. */
function fromClientNode(node: unknown, depth: number, rename: boolean): unknown {
  // Deeper than the check allows: it refuses the schema there, unchanged.
  if (!isObject(node) || depth > MAX_DEPTH) return node
  const below = (value: unknown): unknown => fromClientNode(value, depth + 1, rename)
  const types = Array.isArray(node.type) ? (node.type as unknown[]) : [node.type]
  const integerOnly = types.includes('integer') && !types.includes('number')
  const unbounded = (key: string, value: unknown): boolean =>
    integerOnly &&
    typeof value === 'number' &&
    ((key === 'minimum' && value <= -Number.MAX_SAFE_INTEGER) || (key === 'maximum' && value >= Number.MAX_SAFE_INTEGER))
  // Entries, not assignment: a "__proto__" keyword stays a keyword for the check to refuse.
  const entries = Object.entries(node).flatMap(([key, value]): [string, unknown][] => {
    if (unbounded(key, value)) return []
    const name = rename && key === 'definitions' ? '$defs' : key
    if (key === '$ref' && typeof value === 'string' && rename) return [[name, value.replace(/^#\/definitions\//, '#/$defs/')]]
    // Property and definition names are the client's: the map is copied, its schemas converted.
    if (SCHEMA_MAPS.has(key) && isObject(value)) return [[name, Object.fromEntries(Object.entries(value).map(([k, v]) => [k, below(v)]))]]
    if (SCHEMA_VALUES.has(key)) return [[name, below(value)]]
    if (SCHEMA_LISTS.has(key) && Array.isArray(value)) return [[name, value.map(below)]]
    return [[name, value]]
  })
  return Object.fromEntries(entries)
}

/**
 * Throws AppError('invalid-payload') naming the first keyword or value the grammar
 * converters cannot enforce, with its place in the schema (a JSON pointer).
 */
export function checkJsonSchema(schema: unknown): void {
  if (!isObject(schema)) refuse('', 'must be an object')
  const defs = isObject(schema.$defs) ? schema.$defs : {}
  walk(schema, '', 0, defs)
  refuseRefLoops(defs)
}

/**
 * A $defs entry that leads back to itself before any character is written (through $ref,
 * oneOf and anyOf alone) is a rule that never ends: llama.cpp's grammar builder fails on it,
 * in llama.node by aborting the engine. A recursive shape that writes first (a node whose
 * children are an array of nodes) is fine.
 */
function refuseRefLoops(defs: Record<string, unknown>): void {
  const firstRefs = (node: unknown, out: Set<string>): Set<string> => {
    if (!isObject(node)) return out
    const ref = typeof node.$ref === 'string' ? /^#\/\$defs\/([^/]+)$/.exec(node.$ref)?.[1] : undefined
    if (ref !== undefined) out.add(ref)
    for (const key of ['oneOf', 'anyOf']) {
      const list = node[key]
      if (Array.isArray(list)) for (const sub of list) firstRefs(sub, out)
    }
    return out
  }
  const next = new Map(Object.entries(defs).map(([name, def]) => [name, firstRefs(def, new Set())]))
  for (const start of next.keys()) {
    const seen = new Set<string>()
    const stack = [...next.get(start)!]
    while (stack.length > 0) {
      const name = stack.pop()!
      if (name === start) refuse(`/$defs/${start}`, 'refers back to itself before any value is written, so it never ends')
      if (seen.has(name)) continue
      seen.add(name)
      stack.push(...(next.get(name) ?? []))
    }
  }
}

function walk(node: unknown, at: string, depth: number, defs: Record<string, unknown>): void {
  if (!isObject(node)) refuse(at, 'must be an object')
  if (depth > MAX_DEPTH) refuse(at, `nests deeper than ${MAX_DEPTH} levels`)
  for (const key of Object.keys(node)) {
    if (!ENFORCED.has(key) && !ANNOTATIONS.has(key)) refuse(at, `uses the keyword "${key}", which the grammar cannot enforce`)
  }
  const { type } = node
  const types = Array.isArray(type) ? type : type === undefined ? [] : [type]
  if (types.some((t) => typeof t !== 'string')) refuse(`${at}/type`, 'must be a string or a list of strings')
  if (types.length > 1 && types.some((t) => !SCALAR_TYPES.has(t as string)))
    refuse(`${at}/type`, 'may list several types only among string, number, integer, boolean and null')
  if (types.length === 1 && !SCALAR_TYPES.has(types[0] as string) && types[0] !== 'object' && types[0] !== 'array')
    refuse(`${at}/type`, `names an unknown type "${String(types[0])}"`)
  const kind = types.length === 1 ? types[0] : null
  const needs = (keys: string[], wanted: string): void => {
    const key = keys.find((k) => k in node)
    if (key && kind !== wanted) refuse(`${at}/${key}`, `needs "type": "${wanted}" beside it`)
  }
  needs(['properties', 'additionalProperties', 'minProperties', 'maxProperties', 'required'], 'object')
  needs(['items', 'prefixItems', 'minItems', 'maxItems'], 'array')
  // Beside a list of types they hold for its strings (toGbnfJsonSchema gives node-llama-cpp one schema per type).
  const stringKey = STRING_KEYWORDS.find((k) => k in node)
  if (stringKey && kind !== 'string' && !(types.length > 1 && types.includes('string')))
    refuse(`${at}/${stringKey}`, 'needs "type": "string" beside it, or a list of types with "string" in it')
  if (!['type', 'const', 'enum', 'oneOf', 'anyOf', '$ref'].some((k) => k in node))
    refuse(at, 'must say what it allows (type, const, enum, oneOf, anyOf or $ref)')

  if (node.format !== undefined && !FORMATS.has(node.format as string))
    refuse(`${at}/format`, `"${String(node.format)}" is not one of ${[...FORMATS].join(', ')}`)
  for (const key of ['minProperties', 'maxProperties', 'minItems', 'maxItems', 'minLength', 'maxLength']) {
    const value = node[key]
    if (value !== undefined && !(Number.isInteger(value) && (value as number) >= 0)) refuse(`${at}/${key}`, 'must be a whole number')
    if (typeof value === 'number' && value > MAX_COUNT)
      refuse(`${at}/${key}`, `must be at most ${MAX_COUNT}: the grammar cannot repeat a rule more often`)
  }
  // No value satisfies it: llama.node's sampler searched for one without end, holding the engine.
  for (const [min, max] of COUNT_PAIRS) {
    if (typeof node[min] === 'number' && typeof node[max] === 'number' && node[min] > node[max])
      refuse(`${at}/${min}`, `is more than ${max} (${String(node[max])}), so no value could match`)
  }
  if (node.required !== undefined && !(Array.isArray(node.required) && node.required.every((r) => typeof r === 'string')))
    refuse(`${at}/required`, 'must be a list of names')
  // The converters build a required property from its schema in "properties"; a name listed
  // only in "required" was dropped, and answers without it passed as valid.
  const listed = isObject(node.properties) ? node.properties : {}
  const unlisted = ((node.required as string[] | undefined) ?? []).filter((name) => !Object.hasOwn(listed, name))
  if (unlisted.length)
    refuse(`${at}/required`, `names ${unlisted.map((n) => JSON.stringify(n)).join(', ')}, which "properties" does not list`)
  if (node.enum !== undefined && !(Array.isArray(node.enum) && node.enum.length > 0 && node.enum.every(isScalar)))
    refuse(`${at}/enum`, 'must be a non-empty list of strings, numbers, booleans or null')
  if (node.const !== undefined && !isScalar(node.const)) refuse(`${at}/const`, 'must be a string, number, boolean or null')
  // A grammar's literals are C strings: the NUL character cannot be in one.
  for (const key of ['enum', 'const']) {
    const values: unknown[] = key === 'enum' ? (node.enum as unknown[]) : [node.const]
    if (node[key] !== undefined && values.some((v) => typeof v === 'string' && v.includes('\u0000')))
      refuse(`${at}/${key}`, 'may not hold the NUL character (\\u0000)')
  }
  if (node.$ref !== undefined) {
    const ref = /^#\/\$defs\/([^/]+)$/.exec(String(node.$ref))
    // Own entries only: `in` found "constructor" and "toString" on every object's prototype.
    if (!ref || !Object.hasOwn(defs, ref[1]!)) refuse(`${at}/$ref`, 'must point to an entry of the top-level $defs ("#/$defs/name")')
  }
  if (node.$defs !== undefined) {
    if (at !== '') refuse(`${at}/$defs`, 'is allowed only at the top of the schema')
    if (!isObject(node.$defs)) refuse('/$defs', 'must be an object')
    for (const [name, def] of Object.entries(node.$defs)) walk(def, `/$defs/${name}`, depth + 1, defs)
  }
  if (node.properties !== undefined) {
    if (!isObject(node.properties)) refuse(`${at}/properties`, 'must be an object')
    for (const [name, sub] of Object.entries(node.properties)) walk(sub, `${at}/properties/${name}`, depth + 1, defs)
    refuseObjectGrammar(node.properties, node, at)
  }
  if (node.additionalProperties !== undefined && typeof node.additionalProperties !== 'boolean')
    walk(node.additionalProperties, `${at}/additionalProperties`, depth + 1, defs)
  if (node.items !== undefined) walk(node.items, `${at}/items`, depth + 1, defs)
  for (const key of ['prefixItems', 'oneOf', 'anyOf']) {
    const list = node[key]
    if (list === undefined) continue
    if (!Array.isArray(list) || list.length === 0) refuse(`${at}/${key}`, 'must be a non-empty list of schemas')
    list.forEach((sub, i) => walk(sub, `${at}/${key}/${i}`, depth + 1, defs))
  }
}

/** An object whose properties llama.cpp would write into a grammar its own parser refuses. */
function refuseObjectGrammar(properties: Record<string, unknown>, node: Record<string, unknown>, at: string): void {
  const required = new Set((node.required as string[] | undefined) ?? [])
  const optional = Object.keys(properties).filter((name) => !required.has(name)).length
  if (optional > MAX_OPTIONAL)
    refuse(
      `${at}/properties`,
      `leaves ${optional} properties optional; the grammar can hold at most ${MAX_OPTIONAL}, so list more of them in "required"`,
    )
  const additional = node.additionalProperties === true || isObject(node.additionalProperties)
  if (!additional) return
  // llama.cpp writes each byte of the names there raw between brackets (`[` c `]`), unescaped:
  // "]" ends the class early and "\\" escapes its end, and llama.node aborted on either.
  const unwritable = Object.keys(properties).find((name) => /[\]\\]/.test(name))
  if (unwritable !== undefined)
    refuse(
      `${at}/properties/${unwritable}`,
      'has "]" or "\\" in its name, which the grammar cannot tell additional properties from; rename it, or set "additionalProperties": false',
    )
  if (additionalKeyRules(Object.keys(properties)) >= GROUP_RULES)
    refuse(
      `${at}/properties`,
      'has property names too long together for the grammar to tell additional properties from them; shorten them, or set "additionalProperties": false',
    )
}

/**
 * With additionalProperties beside listed properties, llama.cpp writes an additional key as a
 * string that is none of the listed names: a trie of the names' bytes in one `( … )?` group,
 * with two rules for each node that goes on (a nested group and `char*`) and one for each that
 * ends (`char+`). The count is that, with the group and the char rule: a single name of 1,000
 * letters aborted llama.node.
 */
function additionalKeyRules(names: readonly string[]): number {
  type TrieNode = Map<number, TrieNode>
  const root: TrieNode = new Map()
  const encoder = new TextEncoder()
  for (const name of names) {
    let node = root
    for (const byte of encoder.encode(name)) {
      let next = node.get(byte)
      if (!next) node.set(byte, (next = new Map()))
      node = next
    }
  }
  let rules = 2
  const stack: [TrieNode, boolean][] = [[root, true]]
  while (stack.length > 0) {
    const [node, isRoot] = stack.pop()!
    if (node.size === 0) rules += 1
    else rules += isRoot ? 1 : 2
    for (const child of node.values()) stack.push([child, false])
  }
  return rules
}

/**
 * The schema as node-llama-cpp's builder reads it: anyOf becomes oneOf (both are "one of
 * these shapes" to a grammar, which emits a single value), and annotations are dropped. Its
 * objects default to no additional properties, so an object schema that lists none would only
 * ever give {}: there, as JSON Schema means, any properties are allowed.
 */
export function toGbnfJsonSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toGbnfJsonSchema)
  if (!isObject(node)) return node
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(node)) {
    if (ANNOTATIONS.has(key) && key !== 'description') continue
    const name = key === 'anyOf' ? 'oneOf' : key
    // Property names and $defs names are data, not keywords: copy the map, convert its values.
    out[name] =
      (key === 'properties' || key === '$defs') && isObject(value)
        ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toGbnfJsonSchema(v)]))
        : key === 'enum' || key === 'const' || key === 'required'
          ? value
          : toGbnfJsonSchema(value)
  }
  if (out.type === 'object' && out.properties === undefined && out.additionalProperties === undefined) out.additionalProperties = true
  // Its builder drops string keywords beside a list of types (["string", "null"] with maxLength
  // gave strings of any length): the list becomes one schema per type, the string's with them,
  // as llama.cpp's converter makes it.
  if (Array.isArray(out.type) && out.oneOf === undefined && STRING_KEYWORDS.some((k) => k in out)) {
    const { type, minLength, maxLength, format, ...rest } = out
    const forString = Object.fromEntries(Object.entries({ minLength, maxLength, format }).filter(([, v]) => v !== undefined))
    return { ...rest, oneOf: (type as unknown[]).map((t) => (t === 'string' ? { type: t, ...forString } : { type: t })) }
  }
  return out
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function isScalar(value: unknown): boolean {
  return value === null || ['string', 'number', 'boolean'].includes(typeof value)
}

function refuse(at: string, problem: string): never {
  throw new AppError('invalid-payload', `The JSON schema ${at ? `at ${at} ` : ''}${problem}.`)
}
