// The tensor table of a GGUF header: each tensor's dimensions, ggml type and data offset,
// checked against what llama.cpp loads and the tensors before it.
import { Invalid, shown, type HeaderReader } from './gguf-reader.js'

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

/** GGML_MAX_DIMS in ggml.h. */
export const MAX_DIMS = 4
/** GGML_MAX_NAME in ggml.h counts the terminating NUL. */
const MAX_TENSOR_NAME_BYTES = 63

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
export async function readTensorInfos(reader: HeaderReader, count: number, alignment: number): Promise<bigint> {
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

export function padTo(offset: bigint, alignment: number): bigint {
  const a = BigInt(alignment)
  return ((offset + a - 1n) / a) * a
}
