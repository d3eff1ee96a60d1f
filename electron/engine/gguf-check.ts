// Checks a GGUF file's header in plain TypeScript before any GGUF reader sees it. Both
// bindings' native loaders and node-llama-cpp's JavaScript reader trust the lengths and
// counts a header states: a damaged or hostile file (4294967295 dimensions, an array of 2^63
// values, an unknown tensor type) crashes the engine process, allocates without bound or
// loops until killed. This reader streams the header through a fixed-size window, checks
// every length against what is left of the file before it is used, never allocates by a
// length it has not checked, and refuses what the bundled llama.cpp's GGUF reader refuses
// (plus what its loaders were seen to crash on), with a sentence naming the file and the field.
// Format: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md; limits: ggml/src/gguf.cpp.
import { open, type FileHandle } from 'node:fs/promises'
import { basename } from 'node:path'
import { AppError } from '../ipc/errors.js'
import { KEY_TYPES, type KeyType } from './gguf-keys.js'

/** What a header that passed the check says about the file's layout. */
export interface GgufHeader {
  version: 2 | 3
  tensorCount: number
  kvCount: number
  alignment: number
  /** Where the tensor data starts: the end of the tensor infos, padded to the alignment. */
  dataOffset: number
  /** Where the last tensor's data ends: the least a complete file holds. */
  dataEnd: number
}

export interface GgmlType {
  name: string
  /** Values per block; every row holds whole blocks. */
  blockSize: number
  /** Bytes per block. */
  typeSize: number
}

/**
 * ggml's tensor types as the bundled llama.cpp defines them (ggml.h's enum ggml_type, the
 * block and type sizes from ggml.c's type_traits and ggml-common.h's block structs). Both
 * bindings ship the same enum, up to GGML_TYPE_Q2_0 = 42. Ids missing here (4, 5, 31–33,
 * 36–38) were removed from llama.cpp; it refuses them.
 */
export const GGML_TYPES: ReadonlyMap<number, GgmlType> = new Map([
  [0, { name: 'F32', blockSize: 1, typeSize: 4 }],
  [1, { name: 'F16', blockSize: 1, typeSize: 2 }],
  [2, { name: 'Q4_0', blockSize: 32, typeSize: 18 }],
  [3, { name: 'Q4_1', blockSize: 32, typeSize: 20 }],
  [6, { name: 'Q5_0', blockSize: 32, typeSize: 22 }],
  [7, { name: 'Q5_1', blockSize: 32, typeSize: 24 }],
  [8, { name: 'Q8_0', blockSize: 32, typeSize: 34 }],
  [9, { name: 'Q8_1', blockSize: 32, typeSize: 36 }],
  [10, { name: 'Q2_K', blockSize: 256, typeSize: 84 }],
  [11, { name: 'Q3_K', blockSize: 256, typeSize: 110 }],
  [12, { name: 'Q4_K', blockSize: 256, typeSize: 144 }],
  [13, { name: 'Q5_K', blockSize: 256, typeSize: 176 }],
  [14, { name: 'Q6_K', blockSize: 256, typeSize: 210 }],
  [15, { name: 'Q8_K', blockSize: 256, typeSize: 292 }],
  [16, { name: 'IQ2_XXS', blockSize: 256, typeSize: 66 }],
  [17, { name: 'IQ2_XS', blockSize: 256, typeSize: 74 }],
  [18, { name: 'IQ3_XXS', blockSize: 256, typeSize: 98 }],
  [19, { name: 'IQ1_S', blockSize: 256, typeSize: 50 }],
  [20, { name: 'IQ4_NL', blockSize: 32, typeSize: 18 }],
  [21, { name: 'IQ3_S', blockSize: 256, typeSize: 110 }],
  [22, { name: 'IQ2_S', blockSize: 256, typeSize: 82 }],
  [23, { name: 'IQ4_XS', blockSize: 256, typeSize: 136 }],
  [24, { name: 'I8', blockSize: 1, typeSize: 1 }],
  [25, { name: 'I16', blockSize: 1, typeSize: 2 }],
  [26, { name: 'I32', blockSize: 1, typeSize: 4 }],
  [27, { name: 'I64', blockSize: 1, typeSize: 8 }],
  [28, { name: 'F64', blockSize: 1, typeSize: 8 }],
  [29, { name: 'IQ1_M', blockSize: 256, typeSize: 56 }],
  [30, { name: 'BF16', blockSize: 1, typeSize: 2 }],
  [34, { name: 'TQ1_0', blockSize: 256, typeSize: 54 }],
  [35, { name: 'TQ2_0', blockSize: 256, typeSize: 66 }],
  [39, { name: 'MXFP4', blockSize: 32, typeSize: 17 }],
  [40, { name: 'NVFP4', blockSize: 64, typeSize: 36 }],
  [41, { name: 'Q1_0', blockSize: 128, typeSize: 18 }],
  [42, { name: 'Q2_0', blockSize: 64, typeSize: 18 }],
])

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

/** GGML_MAX_DIMS in ggml.h. */
export const MAX_DIMS = 4
/** GGML_MAX_NAME in ggml.h counts the terminating NUL. */
const MAX_TENSOR_NAME_BYTES = 63
/** The GGUF spec caps keys at 65535 bytes. */
const MAX_KEY_BYTES = 65_535
/** GGUF_MAX_STRING_LENGTH and GGUF_MAX_ARRAY_ELEMENTS in gguf.cpp. */
const MAX_STRING_BYTES = 2 ** 30
const MAX_ARRAY_ELEMENTS = 2 ** 30
const DEFAULT_ALIGNMENT = 32
/** The fewest bytes a key-value pair takes (length, a 1-byte key, type, a 1-byte value). */
const MIN_KV_BYTES = 8 + 1 + 4 + 1
/** The fewest bytes a tensor info takes (name length, n_dims, one dimension, type, offset). */
const MIN_TENSOR_INFO_BYTES = 8 + 4 + 8 + 4 + 8
/** How much of the file is read at a time: a header of a few MB takes a few reads. */
const CHUNK_BYTES = 1 << 20

/** The header runs past the end of the file: cut short, or a length field is damaged. */
class Truncated extends Error {}
/** A field holds a value no GGUF writer produces and llama.cpp refuses. */
class Invalid extends Error {}
/** The header is sound but the tensor data ends past the end of the file. */
class Incomplete extends Error {
  constructor(size: number, needed: bigint) {
    super(`it has ${size} of at least ${needed} bytes`)
  }
}

/** Reads a file front to back through one reused window; every read is bounded by the caller. */
class HeaderReader {
  private readonly window: Buffer
  private windowStart = 0
  private windowLength = 0
  position = 0

  constructor(
    private readonly handle: FileHandle,
    readonly size: number,
  ) {
    this.window = Buffer.alloc(Math.min(CHUNK_BYTES, size))
  }

  get remaining(): number {
    return this.size - this.position
  }

  private holds(count: number): boolean {
    return this.position >= this.windowStart && this.position + count <= this.windowStart + this.windowLength
  }

  private async refill(count: number, what: string): Promise<void> {
    if (count > this.remaining) throw new Truncated(`the file ends inside ${what} (at byte ${this.size})`)
    const length = Math.min(this.window.length, this.remaining)
    const { bytesRead } = await this.handle.read(this.window, 0, length, this.position)
    // The file shrank since it was measured: a download still being written over.
    if (bytesRead < count) throw new Truncated(`the file ends inside ${what} (at byte ${this.position + bytesRead})`)
    this.windowStart = this.position
    this.windowLength = bytesRead
  }

  /**
   * The next `count` bytes, read from disk when the window lacks them. Callers ask for at
   * most a key's length (64 KiB, under the window's size) and use the bytes at once: the
   * next read may overwrite them.
   */
  async bytes(count: number, what: string): Promise<Buffer> {
    if (!this.holds(count)) await this.refill(count, what)
    const start = this.position - this.windowStart
    this.position += count
    return this.window.subarray(start, start + count)
  }

  async u32(what: string): Promise<number> {
    return (await this.bytes(4, what)).readUInt32LE(0)
  }

  async u64(what: string): Promise<bigint> {
    return (await this.bytes(8, what)).readBigUInt64LE(0)
  }

  /** Moves past `count` bytes of the file without reading them. */
  skip(count: bigint, what: string): void {
    if (count > BigInt(this.remaining))
      throw new Truncated(`${what} is ${count} bytes long, but only ${this.remaining} bytes of the file are left`)
    this.position += Number(count)
  }

  /** A string read into memory: only keys and tensor names, whose lengths have small caps. */
  async text(maxBytes: number, what: string): Promise<string> {
    const length = await this.u64(`the length of ${what}`)
    if (length > BigInt(maxBytes)) throw new Invalid(`${what} is ${length} bytes long; at most ${maxBytes}`)
    if (length > BigInt(this.remaining))
      throw new Truncated(`${what} is ${length} bytes long, but only ${this.remaining} bytes of the file are left`)
    return (await this.bytes(Number(length), what)).toString('utf8')
  }

  /**
   * Passes over `count` string values, checking each length. A vocabulary holds hundreds of
   * thousands of them, so lengths already in the window are read without awaiting.
   */
  async skipStrings(count: number, describe: (index: number) => string): Promise<void> {
    for (let i = 0; i < count; i++) {
      if (!this.holds(8)) await this.refill(8, `the length of ${describe(i)}`)
      const at = this.position - this.windowStart
      const length = this.window.readUInt32LE(at + 4) === 0 ? this.window.readUInt32LE(at) : this.window.readBigUInt64LE(at)
      this.position += 8
      if (length > MAX_STRING_BYTES)
        throw new Invalid(`${describe(i)} is ${length} bytes long; llama.cpp reads at most ${MAX_STRING_BYTES}`)
      if (length > this.remaining)
        throw new Truncated(`${describe(i)} is ${length} bytes long, but only ${this.remaining} bytes of the file are left`)
      this.position += Number(length)
    }
  }
}

/**
 * Checks the header of the GGUF file at `path`; throws AppError('bad-model-file') naming
 * the file (with `label`, e.g. "Model file") and the first field that is wrong.
 */
export async function checkGgufHeader(path: string, label = 'Model file'): Promise<GgufHeader> {
  const name = basename(path)
  const handle = await open(path, 'r').catch((error: NodeJS.ErrnoException) => {
    throw new AppError(
      'bad-model-file',
      error.code === 'ENOENT' ? `${label} not found: ${path}` : `${label} ${name} cannot be read (${error.code ?? error.message}).`,
    )
  })
  try {
    const { size } = await handle.stat()
    return await readHeader(new HeaderReader(handle, size), label, name)
  } catch (error) {
    if (error instanceof Truncated) throw new AppError('bad-model-file', `${label} ${name} is corrupt or truncated: ${error.message}.`)
    if (error instanceof Invalid) throw new AppError('bad-model-file', `${label} ${name} is damaged: ${error.message}.`)
    if (error instanceof Incomplete)
      throw new AppError('bad-model-file', `${label} ${name} is incomplete: ${error.message}. Download it again.`)
    throw error
  } finally {
    await handle.close()
  }
}

async function readHeader(reader: HeaderReader, label: string, name: string): Promise<GgufHeader> {
  const notGguf = new AppError('bad-model-file', `${label} ${name} is not a GGUF model file.`)
  if (reader.size < 4 || (await reader.bytes(4, 'the magic')).toString('latin1') !== 'GGUF') throw notGguf

  const version = await reader.u32('the version')
  if (version !== 2 && version !== 3) throw new AppError('bad-model-file', `${label} ${name} ${describeVersion(version)}`)

  const tensorCount = await reader.u64('the tensor count')
  const kvCount = await reader.u64('the key-value count')
  // Both counts are bounded by the file before any loop runs on them, so a count of 2^63 is
  // refused at once instead of read entry by entry.
  const room = BigInt(reader.remaining)
  if (kvCount * BigInt(MIN_KV_BYTES) + tensorCount * BigInt(MIN_TENSOR_INFO_BYTES) > room) {
    throw new Truncated(
      `its header lists ${tensorCount} tensors and ${kvCount} key-value pairs, more than the ${room} bytes after the counts can hold`,
    )
  }

  const keyValues = await readKeyValues(reader, Number(kvCount))
  checkKeyTypes(keyValues)
  checkShape(keyValues)
  const { alignment } = keyValues
  const lastEnd = await readTensorInfos(reader, Number(tensorCount), alignment)
  const dataOffset = tensorCount > 0n ? Number(padTo(BigInt(reader.position), alignment)) : reader.position
  // llama.cpp maps each tensor's bytes from the file: the last tensor's end is the least a
  // complete file holds (the tensors are packed in order, which readTensorInfos checked).
  const dataEnd = BigInt(dataOffset) + lastEnd
  if (dataEnd > BigInt(reader.size)) throw new Incomplete(reader.size, dataEnd)
  // Writers pad the last tensor to the alignment at most. More data after it means tensors
  // the header no longer lists: a damaged count drops them, and clip.cpp then crashes on
  // the projector tensors it expects.
  const trailing = BigInt(reader.size) - dataEnd
  if (trailing >= BigInt(alignment)) {
    throw new Invalid(
      `its ${tensorCount} tensors' data ends at byte ${dataEnd}, but the file goes on for ${trailing} more bytes: the tensor count or the tensor table is damaged`,
    )
  }
  return { version, tensorCount: Number(tensorCount), kvCount: Number(kvCount), alignment, dataOffset, dataEnd: Number(dataEnd) }
}

function describeVersion(version: number): string {
  if (version === 1) return 'uses GGUF version 1, which llama.cpp no longer reads. Download a newer conversion of the model.'
  // A big-endian file stores 2 or 3 with its bytes reversed.
  if (version === 0x02000000 || version === 0x03000000) return 'is a big-endian GGUF file; only little-endian files load on this computer.'
  if (version >= 4 && version <= 0xffff) return `has GGUF version ${version}; versions 2 and 3 can be loaded.`
  return `is corrupt or truncated: its version field holds ${version}, which is no GGUF version.`
}

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

/**
 * A name from the file as a message shows it: a damaged length turns a run of tensor data
 * into a "name", so control characters become ? and the length is capped.
 */
function shown(name: string): string {
  const printable = name.replace(/[\p{Cc}\p{Cf}]/gu, '?')
  return printable.length > 80 ? `${printable.slice(0, 80)}…` : printable
}

/** A key's type as the file states it: a scalar type, or an array and its element type. */
interface KvType {
  type: number
  elementType: number | null
}

interface KeyValues {
  alignment: number
  architecture: string | null
  types: Map<string, KvType>
  /** The uint32 scalars' values, for the few that llama.cpp asserts on (see checkShape). */
  uint32s: Map<string, number>
}

/** llama.cpp's architecture names are short; a longer value is no architecture it knows. */
const MAX_ARCHITECTURE_BYTES = 256

/** Walks every key-value pair, recording each key's type, the alignment (else 32) and the architecture. */
async function readKeyValues(reader: HeaderReader, count: number): Promise<KeyValues> {
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
function checkShape({ architecture, uint32s }: KeyValues): void {
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
function checkKeyTypes({ architecture, types }: KeyValues): void {
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

interface PlacedTensor {
  name: string
  description: string
  offset: bigint
  bytes: bigint
}

/**
 * Walks every tensor info. llama.cpp needs each tensor's data aligned and packed in order
 * (each starts where the one before ends, padded to the alignment), so overlapping, out of
 * order or out of range offsets are all refused here. Returns where the last tensor's data
 * ends, relative to the data section.
 */
async function readTensorInfos(reader: HeaderReader, count: number, alignment: number): Promise<bigint> {
  const names = new Set<string>()
  let previous: PlacedTensor | null = null
  // A tensor larger than the whole file is reported once the rest of the header has been
  // read: in a download cut short inside the header that is where it ends, which says more.
  let oversized: string | null = null
  for (let i = 0; i < count; i++) {
    const raw = await reader.text(MAX_TENSOR_NAME_BYTES, `the name of tensor ${i}`)
    // llama.cpp refuses a repeated tensor name.
    if (names.has(raw)) throw new Invalid(`tensor '${shown(raw)}' appears twice`)
    names.add(raw)
    const name = shown(raw)
    const nDims = await reader.u32(`the dimension count of tensor '${name}'`)
    if (nDims > MAX_DIMS) throw new Invalid(`tensor '${name}' has ${nDims} dimensions; at most ${MAX_DIMS}`)
    if (nDims === 0) throw new Invalid(`tensor '${name}' has 0 dimensions; at least 1`)
    const dims: bigint[] = []
    for (let d = 0; d < nDims; d++) {
      const dim = await reader.u64(`dimension ${d} of tensor '${name}'`)
      if (dim === 0n) throw new Invalid(`dimension ${d} of tensor '${name}' is 0; each holds at least 1 value`)
      dims.push(dim)
    }
    const typeId = await reader.u32(`the type of tensor '${name}'`)
    const type = GGML_TYPES.get(typeId)
    if (!type)
      throw new Invalid(`tensor '${name}' has ggml type ${typeId}, which the bundled llama.cpp does not know (or no longer supports)`)
    const description = `${dims.join('×')} ${type.name}`
    if (dims[0]! % BigInt(type.blockSize) !== 0n) {
      throw new Invalid(
        `tensor '${name}' (${description}) has rows of ${dims[0]} values; ${type.name} stores them in blocks of ${type.blockSize}`,
      )
    }
    const bytes = (dims.reduce((n, d) => n * d, 1n) / BigInt(type.blockSize)) * BigInt(type.typeSize)
    const offset = await reader.u64(`the data offset of tensor '${name}'`)
    if (bytes > BigInt(reader.size))
      oversized ??= `tensor '${name}' (${description}) holds ${bytes} bytes of data, more than the whole file (${reader.size} bytes)`
    // After an oversized tensor the offsets cannot follow; the rest is read for its own faults.
    if (oversized) continue
    const expected: bigint = previous ? padTo(previous.offset + previous.bytes, alignment) : 0n
    if (offset % BigInt(alignment) !== 0n)
      throw new Invalid(`tensor '${name}' starts at data offset ${offset}, not a multiple of the alignment (${alignment})`)
    if (offset !== expected) {
      const where = offset < expected ? 'overlaps' : 'leaves a gap after'
      throw new Invalid(
        previous
          ? `tensor '${name}' starts at data offset ${offset} and ${where} tensor '${previous.name}' (${previous.description}, ending at ${previous.offset + previous.bytes}); llama.cpp needs tensors packed in order, so it should start at ${expected}`
          : `the first tensor, '${name}', starts at data offset ${offset}; it must start at 0`,
      )
    }
    previous = { name, description, offset, bytes }
  }
  if (oversized) throw new Invalid(oversized)
  return previous ? previous.offset + previous.bytes : 0n
}

function padTo(offset: bigint, alignment: number): bigint {
  const a = BigInt(alignment)
  return ((offset + a - 1n) / a) * a
}
