// Checks a GGUF file's header in plain TypeScript before any GGUF reader sees it. Both
// bindings' native loaders and node-llama-cpp's JavaScript reader trust the lengths and
// counts a header states: a damaged or hostile file (4294967295 dimensions, an array of 2^63
// values, an unknown tensor type) crashes the engine process, allocates without bound or
// loops until killed. This reader streams the header through a fixed-size window, checks
// every length against what is left of the file before it is used, never allocates by a
// length it has not checked, and refuses what the bundled llama.cpp's GGUF reader refuses
// (plus what its loaders were seen to crash on), with a sentence naming the file and the field.
// Format: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md; limits: ggml/src/gguf.cpp.
// The reader is in gguf-reader.ts, the key-value checks in gguf-metadata.ts and the tensor
// table's in gguf-tensors.ts; this file words what they find.
import { open } from 'node:fs/promises'
import { basename } from 'node:path'
import { AppError } from '../ipc/errors.js'
import { checkKeyTypes, checkShape, readKeyValues } from './gguf-metadata.js'
import { HeaderReader, Invalid, Truncated } from './gguf-reader.js'
import { padTo, readTensorInfos } from './gguf-tensors.js'

export { GGML_TYPES, MAX_DIMS, type GgmlType } from './gguf-tensors.js'

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

/** The fewest bytes a key-value pair takes (length, a 1-byte key, type, a 1-byte value). */
const MIN_KV_BYTES = 8 + 1 + 4 + 1
/** The fewest bytes a tensor info takes (name length, n_dims, one dimension, type, offset). */
const MIN_TENSOR_INFO_BYTES = 8 + 4 + 8 + 4 + 8

/** The header is sound but the tensor data ends past the end of the file. */
class Incomplete extends Error {
  constructor(size: number, needed: bigint) {
    super(`it has ${size} of at least ${needed} bytes`)
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
