// Each rule of the GGUF header check, on the fixtures damaged one field at a time: the file
// is refused with AppError('bad-model-file') and a sentence naming the file and the field.
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { getLlama } from 'node-llama-cpp'
import { beforeAll, describe, expect, it } from 'vitest'
import { AppError } from '../../electron/ipc/errors.js'
import { checkGgufHeader, GGML_TYPES, MAX_DIMS } from '../../electron/engine/gguf-check.js'
import { inspectModelFile } from '../../electron/engine/model-files.js'
import { ensureFixtures } from '../fixtures/generate.js'
import { ggufLayout, type GgufLayout, type KvLayout, type TensorLayout } from '../fixtures/gguf-layout.js'
import { withText, withU32, withU64 } from '../fixtures/gguf-mutations.js'
import { scratchDir } from '../support/engine.js'

let dir: string
let model: Buffer
let mmproj: Buffer
let modelLayout: GgufLayout
let mmprojLayout: GgufLayout

beforeAll(async () => {
  const fx = await ensureFixtures()
  dir = await scratchDir()
  model = await readFile(fx.textModel)
  mmproj = await readFile(fx.mmproj)
  modelLayout = ggufLayout(model)
  mmprojLayout = ggufLayout(mmproj)
})

const kv = (layout: GgufLayout, key: string): KvLayout => layout.kvs.find((k) => k.key === key)!
const tensor = (layout: GgufLayout, name: string): TensorLayout => layout.tensors.find((t) => t.name === name)!

/** A hand-built header: GGUF v3, then the given fields (counts first). */
function rawGguf(...fields: (number | bigint | string | Buffer)[]): Buffer {
  const parts = fields.map((f) => {
    if (Buffer.isBuffer(f)) return f
    if (typeof f === 'string') return Buffer.from(f, 'latin1')
    const b = Buffer.alloc(typeof f === 'bigint' ? 8 : 4)
    if (typeof f === 'bigint') b.writeBigUInt64LE(f)
    else b.writeUInt32LE(f)
    return b
  })
  return Buffer.concat([Buffer.from('GGUF'), Buffer.from([3, 0, 0, 0]), ...parts])
}

let written = 0
async function fileOf(bytes: Buffer): Promise<string> {
  const path = join(dir, `check-${++written}.gguf`)
  await writeFile(path, bytes)
  return path
}

/** The check's refusal of `bytes`, which must name the file and match `message`. */
async function expectRefused(bytes: Buffer, message: RegExp): Promise<void> {
  const path = await fileOf(bytes)
  const error = await checkGgufHeader(path).then(
    () => null,
    (e: unknown) => e,
  )
  expect(error, 'expected the header to be refused').toBeInstanceOf(AppError)
  expect((error as AppError).code).toBe('bad-model-file')
  expect((error as AppError).message).toContain(`Model file check-${written}.gguf `)
  expect((error as AppError).message).toMatch(message)
}

describe('intact files', () => {
  it('pass, with the layout their header states', async () => {
    expect(await checkGgufHeader(await fileOf(model))).toEqual({
      version: 3,
      tensorCount: 21,
      kvCount: 22,
      alignment: 32,
      dataOffset: 14528,
      dataEnd: model.length,
    })
    expect(await checkGgufHeader(await fileOf(mmproj))).toMatchObject({ version: 3, tensorCount: 40, kvCount: 18, dataEnd: mmproj.length })
  })

  it('pass as version 2, which has the same layout', async () => {
    expect(await checkGgufHeader(await fileOf(withU32(model, modelLayout.versionAt, 2)))).toMatchObject({ version: 2 })
  })
})

describe('magic and version', () => {
  it('refuses a file that is not GGUF, or too short to say', async () => {
    await expectRefused(Buffer.from('GGML and more'), /is not a GGUF model file\.$/)
    await expectRefused(Buffer.from('GG'), /is not a GGUF model file\.$/)
  })

  it('refuses versions other than 2 and 3, saying which it has', async () => {
    await expectRefused(withU32(model, modelLayout.versionAt, 1), /uses GGUF version 1, which llama\.cpp no longer reads/)
    await expectRefused(withU32(model, modelLayout.versionAt, 4), /has GGUF version 4; versions 2 and 3 can be loaded\.$/)
    await expectRefused(withU32(model, modelLayout.versionAt, 0x03000000), /is a big-endian GGUF file/)
    await expectRefused(
      withU32(model, modelLayout.versionAt, 0xdeadbeef),
      /is corrupt or truncated: its version field holds 3735928559, which is no GGUF version\.$/,
    )
  })
})

describe('counts', () => {
  it('refuses tensor and key-value counts the file has no room for, before reading any entry', async () => {
    await expectRefused(
      withU64(model, modelLayout.tensorCountAt, 2n ** 63n),
      /corrupt or truncated: its header lists 9223372036854775808 tensors and 22 key-value pairs, more than the 643496 bytes after the counts can hold/,
    )
    await expectRefused(withU64(model, modelLayout.kvCountAt, 2n ** 64n - 1n), /lists 21 tensors and 18446744073709551615 key-value pairs/)
  })
})

describe('key-value pairs', () => {
  it('bounds a key name by 65535 bytes and by the file', async () => {
    await expectRefused(
      withU64(model, modelLayout.kvs[0]!.at, 2n ** 63n),
      /is damaged: the name of key 0 is 9223372036854775808 bytes long; at most 65535\.$/,
    )
    // No tensors, one key whose 1000-byte name the file has only 10 bytes left for.
    await expectRefused(
      rawGguf(0n, 1n, 1000n, 'short name'),
      /corrupt or truncated: the name of key 0 is 1000 bytes long, but only 10 bytes of the file are left\.$/,
    )
  })

  it('refuses an empty key and a repeated key', async () => {
    await expectRefused(withU64(model, kv(modelLayout, 'general.name').at, 0n), /key 1 has an empty name/)
    const eos = kv(modelLayout, 'tokenizer.ggml.eos_token_id')
    await expectRefused(withText(model, eos.at + 8, 'tokenizer.ggml.bos_token_id'), /key 'tokenizer\.ggml\.bos_token_id' appears twice/)
  })

  it('refuses a value type it does not know', async () => {
    await expectRefused(withU32(model, kv(modelLayout, 'general.name').typeAt, 13), /key 'general\.name' has unknown value type 13/)
  })

  it('bounds a string value by llama.cpp’s 1 GiB and by the file', async () => {
    const name = kv(modelLayout, 'general.name')
    await expectRefused(
      withU64(model, name.valueAt, 2n ** 63n),
      /the value of key 'general\.name' is 9223372036854775808 bytes long; llama\.cpp reads at most 1073741824/,
    )
    await expectRefused(
      withU64(model, name.valueAt, BigInt(model.length)),
      /corrupt or truncated: the value of key 'general\.name' is 643520 bytes long, but only \d+ bytes of the file are left/,
    )
  })

  it('bounds an array by llama.cpp’s 2^30 elements and by the file, whatever its length field says', async () => {
    const tokens = kv(modelLayout, 'tokenizer.ggml.tokens').array!
    await expectRefused(
      withU64(model, tokens.lengthAt, 2n ** 63n),
      /key 'tokenizer\.ggml\.tokens' is an array of 9223372036854775808 values; llama\.cpp reads at most 1073741824/,
    )
    await expectRefused(withU64(model, tokens.lengthAt, 2n ** 64n - 1n), /is an array of 18446744073709551615 values/)
    const scores = kv(modelLayout, 'tokenizer.ggml.scores').array!
    await expectRefused(
      withU64(model, scores.lengthAt, 2n ** 30n),
      /corrupt or truncated: key 'tokenizer\.ggml\.scores' is an array of 1073741824 float32 values \(at least 4294967296 bytes\), but only \d+ bytes of the file are left/,
    )
  })

  it('refuses arrays of arrays and arrays of an unknown type', async () => {
    const scores = kv(modelLayout, 'tokenizer.ggml.scores').array!
    await expectRefused(
      withU32(model, scores.elementTypeAt, 9),
      /key 'tokenizer\.ggml\.scores' is an array of arrays, which llama\.cpp does not read/,
    )
    await expectRefused(withU32(model, scores.elementTypeAt, 13), /key 'tokenizer\.ggml\.scores' is an array of unknown value type 13/)
  })

  it('refuses a well-known key of another type than llama.cpp reads (clip.cpp aborts on those)', async () => {
    await expectRefused(
      withU32(model, kv(modelLayout, 'llama.block_count').typeAt, 5),
      /key 'llama\.block_count' is an int32; llama\.cpp reads it as a uint32\.$/,
    )
    await expectRefused(
      withU32(mmproj, kv(mmprojLayout, 'clip.vision.image_size').typeAt, 6),
      /key 'clip\.vision\.image_size' is a float32; llama\.cpp reads it as a uint32/,
    )
    await expectRefused(
      withU32(mmproj, kv(mmprojLayout, 'clip.use_gelu').typeAt, 0),
      /key 'clip\.use_gelu' is a uint8; llama\.cpp reads it as a bool/,
    )
    await expectRefused(
      withU32(mmproj, kv(mmprojLayout, 'clip.vision.image_mean').array!.elementTypeAt, 5),
      /key 'clip\.vision\.image_mean' is an array of int32; llama\.cpp reads it as an array of float32/,
    )
    await expectRefused(
      withU32(model, kv(modelLayout, 'tokenizer.ggml.token_type').array!.elementTypeAt, 4),
      /key 'tokenizer\.ggml\.token_type' is an array of uint32; llama\.cpp reads it as an array of int32/,
    )
  })

  it('accepts the types llama.cpp accepts, and leaves keys of other architectures alone', async () => {
    // Scores may be int32 (llama.cpp reads either); a 'mistral.' key means nothing to a llama model.
    await checkGgufHeader(await fileOf(withU32(model, kv(modelLayout, 'tokenizer.ggml.scores').array!.elementTypeAt, 5)))
    const blockCount = kv(modelLayout, 'llama.block_count')
    await checkGgufHeader(await fileOf(withU32(withText(model, blockCount.at + 8, 'zzzzz'), blockCount.typeAt, 5)))
  })
})

describe('general.alignment', () => {
  // The fixtures have no alignment key: general.file_type (a uint32 0, a name of the same length) becomes one.
  const withAlignment = (value: number, type = 4): Buffer => {
    const fileType = kv(modelLayout, 'general.file_type')
    return withU32(withU32(withText(model, fileType.at + 8, 'general.alignment'), fileType.typeAt, type), fileType.valueAt, value)
  }

  it('must be a power of two', async () => {
    await expectRefused(withAlignment(0), /key 'general\.alignment' is 0; it must be a power of two/)
    await expectRefused(withAlignment(33), /key 'general\.alignment' is 33; it must be a power of two/)
  })

  it('must be a uint32, as llama.cpp reads it', async () => {
    await expectRefused(withAlignment(32, 5), /key 'general\.alignment' is an int32; it must be a uint32/)
    await expectRefused(withAlignment(32, 8), /key 'general\.alignment' is a string; it must be a uint32/)
  })

  it('sets where the data starts and how tensors are aligned', async () => {
    expect(await checkGgufHeader(await fileOf(withAlignment(32)))).toMatchObject({ alignment: 32, dataOffset: 14528 })
    // The fixture's tensors are 256-byte multiples: the second starts at 150016, not a multiple of 1024.
    await expectRefused(
      withAlignment(1024),
      /tensor 'output_norm\.weight' starts at data offset 150016, not a multiple of the alignment \(1024\)/,
    )
  })
})

describe('tensor infos', () => {
  it('bounds a tensor name by 63 bytes (GGML_MAX_NAME) and refuses a repeated one', async () => {
    await expectRefused(withU64(model, modelLayout.tensors[0]!.at, 64n), /the name of tensor 0 is 64 bytes long; at most 63\.$/)
    const k = tensor(modelLayout, 'blk.0.attn_k.weight')
    await expectRefused(withText(model, k.at + 8, 'blk.0.attn_q.weight'), /tensor 'blk\.0\.attn_q\.weight' appears twice/)
  })

  it(`allows 1 to ${MAX_DIMS} dimensions (GGML_MAX_DIMS)`, async () => {
    const q = tensor(modelLayout, 'blk.0.attn_q.weight')
    await expectRefused(withU32(model, q.nDimsAt, 2 ** 32 - 1), /tensor 'blk\.0\.attn_q\.weight' has 4294967295 dimensions; at most 4\.$/)
    await expectRefused(withU32(model, q.nDimsAt, 0), /tensor 'blk\.0\.attn_q\.weight' has 0 dimensions; at least 1/)
  })

  it('needs every dimension ≥ 1 and the tensor’s bytes within the file', async () => {
    const q = tensor(modelLayout, 'blk.0.attn_q.weight')
    await expectRefused(
      withU64(model, q.dimsAt[1]!, 0n),
      /dimension 1 of tensor 'blk\.0\.attn_q\.weight' is 0; each holds at least 1 value/,
    )
    await expectRefused(
      withU64(model, q.dimsAt[1]!, 2n ** 64n - 1n),
      /tensor 'blk\.0\.attn_q\.weight' \(64×18446744073709551615 F32\) holds 4722366482869645213440 bytes of data, more than the whole file \(643520 bytes\)/,
    )
  })

  it('knows the ggml types the bundled llama.cpp has, and their block sizes', async () => {
    const q = tensor(modelLayout, 'blk.0.attn_q.weight')
    await expectRefused(
      withU32(model, q.typeAt, 99),
      /tensor 'blk\.0\.attn_q\.weight' has ggml type 99, which the bundled llama\.cpp does not know/,
    )
    await expectRefused(
      withU32(model, q.typeAt, 31),
      /has ggml type 31, which the bundled llama\.cpp does not know \(or no longer supports\)/,
    )
    await expectRefused(
      withU32(model, q.typeAt, 12),
      /tensor 'blk\.0\.attn_q\.weight' \(64×64 Q4_K\) has rows of 64 values; Q4_K stores them in blocks of 256/,
    )
  })

  it('needs each tensor’s data aligned and packed in order after the one before', async () => {
    const k = tensor(modelLayout, 'blk.0.attn_k.weight')
    await expectRefused(
      withU64(model, k.offsetAt, BigInt(k.offset + 4)),
      new RegExp(`tensor 'blk\\.0\\.attn_k\\.weight' starts at data offset ${k.offset + 4}, not a multiple of the alignment \\(32\\)`),
    )
    await expectRefused(
      withU64(model, k.offsetAt, 0n),
      /tensor 'blk\.0\.attn_k\.weight' starts at data offset 0 and overlaps tensor 'blk\.0\.attn_q\.weight' \(64×64 F32, ending at \d+\)/,
    )
    await expectRefused(
      withU64(model, k.offsetAt, 2n ** 40n),
      /starts at data offset 1099511627776 and leaves a gap after tensor 'blk\.0\.attn_q\.weight'.*so it should start at \d+/,
    )
    await expectRefused(
      withU64(model, modelLayout.tensors[0]!.offsetAt, 32n),
      /the first tensor, 'token_embd\.weight', starts at data offset 32; it must start at 0/,
    )
    // Another type changes the tensor's size, so the next one no longer follows it.
    await expectRefused(
      withU32(model, tensor(modelLayout, 'blk.0.attn_q.weight').typeAt, 8),
      /tensor 'blk\.0\.attn_k\.weight' starts at data offset \d+ and leaves a gap after tensor 'blk\.0\.attn_q\.weight' \(64×64 Q8_0/,
    )
  })
})

describe('the data section', () => {
  it('says a file cut short in its tensor data is incomplete', async () => {
    await expectRefused(
      model.subarray(0, model.length - 100),
      /is incomplete: it has 643420 of at least 643520 bytes\. Download it again\.$/,
    )
  })

  it('refuses data after the last tensor: a damaged count dropped tensors (clip.cpp crashes without them)', async () => {
    await expectRefused(
      withU64(mmproj, mmprojLayout.tensorCountAt, 39n),
      /its 39 tensors' data ends at byte \d+, but the file goes on for \d+ more bytes: the tensor count or the tensor table is damaged/,
    )
    await expectRefused(withU64(model, modelLayout.tensorCountAt, 0n), /its 0 tensors' data ends at byte \d+/)
  })

  it('says where a header cut short ends', async () => {
    const q = tensor(modelLayout, 'blk.0.attn_q.weight')
    await expectRefused(
      model.subarray(0, q.typeAt + 2),
      /corrupt or truncated: the file ends inside the type of tensor 'blk\.0\.attn_q\.weight' \(at byte \d+\)\.$/,
    )
    await expectRefused(model.subarray(0, modelLayout.kvCountAt), /corrupt or truncated: the file ends inside the key-value count/)
    // Cut in the key-value pairs: fewer bytes are left than the counts need.
    await expectRefused(
      model.subarray(0, modelLayout.kvs[3]!.at),
      /corrupt or truncated: its header lists 21 tensors and 22 key-value pairs, more than the \d+ bytes after the counts can hold/,
    )
  })

  it('shows a garbage name (a damaged length reads data as a name) without control characters, and short', async () => {
    const garbage = Buffer.from(Array.from({ length: 300 }, (_, i) => (i % 5 === 0 ? 7 : 65 + (i % 26))))
    await expectRefused(rawGguf(0n, 1n, 300n, garbage, 99, 0), /is damaged: key '\?[A-Z?]{79}…' has unknown value type 99\.$/)
  })
})

describe('the ggml type table', () => {
  it('matches the ggml that node-llama-cpp ships: every type id, block size and type size', async () => {
    const llama = await getLlama({ gpu: false, build: 'never' })
    // Internal to node-llama-cpp (its GgufInsights sizes tensors with it): the binary's own ggml_blck_size and ggml_type_size.
    const bindings = (
      llama as unknown as {
        _bindings: {
          getBlockSizeForGgmlType(t: number): number | undefined
          getTypeSizeForGgmlType(t: number): number | undefined
          getConsts(): { ggmlMaxDims: number }
        }
      }
    )._bindings
    expect(bindings.getConsts().ggmlMaxDims).toBe(MAX_DIMS)
    for (let id = 0; id < 64; id++) {
      const blockSize = bindings.getBlockSizeForGgmlType(id)
      const typeSize = bindings.getTypeSizeForGgmlType(id)
      const known = blockSize !== undefined && blockSize > 0 ? { blockSize, typeSize } : undefined
      const ours = GGML_TYPES.get(id)
      expect(ours && { blockSize: ours.blockSize, typeSize: ours.typeSize }, `ggml type ${id}`).toEqual(known)
    }
  })

  it('matches the ggml type ids llama.node ships (its ggml.h)', async () => {
    const header = await readFile('node_modules/@fugood/llama.node/src/llama.cpp/ggml/include/ggml.h', 'utf8')
    const enumBody = header.slice(header.indexOf('enum ggml_type {'), header.indexOf('GGML_TYPE_COUNT'))
    const shipped = [...enumBody.matchAll(/^\s*GGML_TYPE_(\w+)\s*=\s*(\d+),/gm)].map(([, name, id]) => [Number(id), name!] as const)
    expect(shipped.length).toBeGreaterThan(30)
    expect(new Map(shipped)).toEqual(new Map([...GGML_TYPES].map(([id, type]) => [id, type.name])))
  })
})

describe('inspectModelFile', () => {
  it('checks the header before node-llama-cpp reads it, and checks every part of a split model', async () => {
    await expect(
      inspectModelFile(await fileOf(withU32(model, tensor(modelLayout, 'output.weight').nDimsAt, 2 ** 32 - 1)), null),
    ).rejects.toThrow(/Model file check-\d+\.gguf is damaged: tensor 'output\.weight' has 4294967295 dimensions; at most 4\./)
    const first = join(dir, 'split-model-00001-of-00002.gguf')
    const second = join(dir, 'split-model-00002-of-00002.gguf')
    await writeFile(first, model)
    await writeFile(second, withU64(model, modelLayout.kvs[3]!.at, 2n ** 63n))
    await expect(inspectModelFile(first, null, 'model')).rejects.toThrow(
      /Model file split-model-00002-of-00002\.gguf is damaged: the name of key 3 is 9223372036854775808 bytes long/,
    )
  })
})
