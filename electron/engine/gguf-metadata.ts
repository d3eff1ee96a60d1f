// The key-value half of a GGUF header: each key's type checked against what llama.cpp reads it
// as, arrays and strings passed over within bounds, and the few values its loaders assert on.
import { KEY_TYPES, type KeyType } from './gguf-keys.js'
import { Invalid, Truncated, shown, type HeaderReader } from './gguf-reader.js'

/** GGUF metadata value types (gguf_type): the byte size of each fixed-size one. */
const VALUE_SIZE: ReadonlyMap<number, number> = new Map([
  [0, 1], // UINT8
  [1, 1], // INT8
  [2, 2], // UINT16
  [3, 2], // INT16
  [4, 4], // UINT32
  [5, 4], // INT32
  [6, 4], // FLOAT32
  [7, 1], // BOOL
  [10, 8], // UINT64
  [11, 8], // INT64
  [12, 8], // FLOAT64
])
const TYPE_UINT32 = 4
const TYPE_STRING = 8
const TYPE_ARRAY = 9

/** The GGUF spec caps keys at 65535 bytes. */
const MAX_KEY_BYTES = 65_535
/** GGUF_MAX_ARRAY_ELEMENTS in gguf.cpp. */
const MAX_ARRAY_ELEMENTS = 2 ** 30
const DEFAULT_ALIGNMENT = 32

const TYPE_NAMES = [
  'uint8',
  'int8',
  'uint16',
  'int16',
  'uint32',
  'int32',
  'float32',
  'bool',
  'string',
  'array',
  'uint64',
  'int64',
  'float64',
]
const typeName = (type: number): string => TYPE_NAMES[type] ?? `unknown type ${type}`
/** "a uint32", "an int32", "an unknown type 13". */
const aType = (type: number): string => `${/^(i|a|unknown)/.test(typeName(type)) ? 'an' : 'a'} ${typeName(type)}`

/** A key's type as the file states it: a scalar type, or an array and its element type. */
interface KvType {
  type: number
  elementType: number | null
}

export interface KeyValues {
  alignment: number
  architecture: string | null
  types: Map<string, KvType>
  /** The uint32 scalars' values, for the few that llama.cpp asserts on (see checkShape). */
  uint32s: Map<string, number>
}

/** llama.cpp's architecture names are short; a longer value is no architecture it knows. */
const MAX_ARCHITECTURE_BYTES = 256

/** Walks every key-value pair, recording each key's type, the alignment (else 32) and the architecture. */
export async function readKeyValues(reader: HeaderReader, count: number): Promise<KeyValues> {
  const types = new Map<string, KvType>()
  const uint32s = new Map<string, number>()
  let alignment = DEFAULT_ALIGNMENT
  let architecture: string | null = null
  for (let i = 0; i < count; i++) {
    const key = await reader.text(MAX_KEY_BYTES, `the name of key ${i}`)
    if (key.length === 0) throw new Invalid(`key ${i} has an empty name`)
    // llama.cpp refuses a repeated key; node-llama-cpp would keep the last one silently.
    if (types.has(key)) throw new Invalid(`key '${shown(key)}' appears twice`)
    const type = await reader.u32(`the type of key '${shown(key)}'`)
    let elementType: number | null = null
    if (key === 'general.alignment') alignment = await readAlignment(reader, type)
    else if (type === TYPE_ARRAY) elementType = await skipArray(reader, key)
    else if (type === TYPE_STRING && key === 'general.architecture')
      architecture = await reader.text(MAX_ARCHITECTURE_BYTES, `the value of key 'general.architecture'`)
    else if (type === TYPE_STRING) await reader.skipStrings(1, () => `the value of key '${shown(key)}'`)
    else if (type === TYPE_UINT32) uint32s.set(key, await reader.u32(`the value of key '${shown(key)}'`))
    else {
      const size = VALUE_SIZE.get(type)
      if (size === undefined) throw new Invalid(`key '${shown(key)}' has unknown value type ${type}`)
      reader.skip(BigInt(size), `the value of key '${shown(key)}'`)
    }
    types.set(key, { type, elementType })
  }
  return { alignment, architecture, types, uint32s }
}

/** llama.cpp's LLAMA_MAX_LAYERS: its per-layer arrays hold this many. */
const MAX_LAYERS = 512
/** Architectures without attention (state-space and RNN models): their converters write a head count of 0. */
const NO_ATTENTION = /^(mamba|rwkv)/

/**
 * Values llama.cpp asserts on while it loads (GGML_ASSERT aborts the whole process; the
 * library's fit estimate simulates a load in the engine process, so one such file in the
 * models folder took the engine down on every refresh): a layer count outside 1-512, and a
 * head count of 0 in a model with attention (its tensors get a 0-sized dimension).
 */
export function checkShape({ architecture, uint32s }: KeyValues): void {
  if (architecture === null) return
  const layers = uint32s.get(`${architecture}.block_count`)
  if (layers !== undefined && (layers < 1 || layers > MAX_LAYERS))
    throw new Invalid(`key '${shown(architecture)}.block_count' is ${layers}; llama.cpp loads 1 to ${MAX_LAYERS} layers`)
  if (NO_ATTENTION.test(architecture)) return
  for (const key of [`${architecture}.attention.head_count`, `${architecture}.attention.head_count_kv`])
    if (uint32s.get(key) === 0) throw new Invalid(`key '${shown(key)}' is 0; a model with attention has at least one head`)
}

/** Passes over an array value; returns its element type. */
async function skipArray(reader: HeaderReader, key: string): Promise<number> {
  const elementType = await reader.u32(`the element type of key '${shown(key)}'`)
  const length = await reader.u64(`the length of key '${shown(key)}'`)
  // llama.cpp reads no arrays of arrays; node-llama-cpp would recurse into them.
  if (elementType === TYPE_ARRAY) throw new Invalid(`key '${shown(key)}' is an array of arrays, which llama.cpp does not read`)
  const size = elementType === TYPE_STRING ? 8 : VALUE_SIZE.get(elementType)
  if (size === undefined) throw new Invalid(`key '${shown(key)}' is an array of unknown value type ${elementType}`)
  if (length > BigInt(MAX_ARRAY_ELEMENTS))
    throw new Invalid(`key '${shown(key)}' is an array of ${length} values; llama.cpp reads at most ${MAX_ARRAY_ELEMENTS}`)
  // For strings, 8 bytes is each one's length field: the least each takes.
  const least = length * BigInt(size)
  if (least > BigInt(reader.remaining)) {
    throw new Truncated(
      `key '${shown(key)}' is an array of ${length} ${typeName(elementType)} values (at least ${least} bytes), but only ${reader.remaining} bytes of the file are left`,
    )
  }
  if (elementType === TYPE_STRING) await reader.skipStrings(Number(length), (j) => `value ${j} of key '${shown(key)}'`)
  else reader.skip(least, `the values of key '${shown(key)}'`)
  return elementType
}

async function readAlignment(reader: HeaderReader, type: number): Promise<number> {
  // llama.cpp reads general.alignment as a uint32 and refuses any other type.
  if (type !== TYPE_UINT32) throw new Invalid(`key 'general.alignment' is ${aType(type)}; it must be a uint32`)
  const alignment = await reader.u32(`the value of key 'general.alignment'`)
  if (alignment === 0 || (alignment & (alignment - 1)) !== 0)
    throw new Invalid(`key 'general.alignment' is ${alignment}; it must be a power of two`)
  return alignment
}

const INTEGER_ELEMENTS = [5, 4, 7] // int32, uint32, bool
/** What each expected key type accepts, and how a message names it. */
const ACCEPTS: Record<KeyType, { scalar: number | null; elements: readonly number[]; described: string }> = {
  uint32: { scalar: 4, elements: [], described: 'a uint32' },
  int32: { scalar: 5, elements: [], described: 'an int32' },
  float32: { scalar: 6, elements: [], described: 'a float32' },
  bool: { scalar: 7, elements: [], described: 'a bool' },
  string: { scalar: TYPE_STRING, elements: [], described: 'a string' },
  uint32OrIntArray: { scalar: 4, elements: INTEGER_ELEMENTS, described: 'a uint32 or an array of integers' },
  intArray: { scalar: null, elements: INTEGER_ELEMENTS, described: 'an array of integers' },
  int32Array: { scalar: null, elements: [5], described: 'an array of int32' },
  float32Array: { scalar: null, elements: [6], described: 'an array of float32' },
  numberArray: { scalar: null, elements: [6, 5], described: 'an array of float32 or int32' },
  stringArray: { scalar: null, elements: [TYPE_STRING], described: 'an array of strings' },
  byteArray: { scalar: null, elements: [0, 1], described: 'an array of bytes' },
}

const EXPECTED_TYPES: ReadonlyMap<string, KeyType> = new Map(
  Object.entries(KEY_TYPES).flatMap(([type, keys]) => keys.map((key) => [key, type as KeyType] as const)),
)

/**
 * The native loaders read the well-known keys with a fixed type (see gguf-keys.ts): one of
 * another type, though it parses, fails llama.cpp's load or aborts clip.cpp's.
 */
export function checkKeyTypes({ architecture, types }: KeyValues): void {
  for (const [key, found] of types) {
    const archKey = architecture !== null && key.startsWith(`${architecture}.`) ? `{arch}${key.slice(architecture.length)}` : null
    const expected = EXPECTED_TYPES.get(key) ?? (archKey === null ? undefined : EXPECTED_TYPES.get(archKey))
    if (expected === undefined) continue
    const accepts = ACCEPTS[expected]
    const ok = found.elementType === null ? found.type === accepts.scalar : accepts.elements.includes(found.elementType)
    if (!ok) {
      const stated = found.elementType === null ? aType(found.type) : `an array of ${typeName(found.elementType)}`
      throw new Invalid(`key '${shown(key)}' is ${stated}; llama.cpp reads it as ${accepts.described}`)
    }
  }
}
