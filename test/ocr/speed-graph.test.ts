// The paddle2onnx graph rewrite (electron/ocr/graph.ts) changes how fast the models run, never
// what they output: both PP-OCRv4 models, rewritten, give the original's numbers.
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as ort from 'onnxruntime-node'
import { describe, expect, it } from 'vitest'
import { rewritePaddleGraph } from '../../electron/ocr/graph.js'
import { defaultModelDir } from '../../electron/ocr/paddle.js'
import { readFields } from '../../electron/ocr/protobuf.js'

const options: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1, graphOptimizationLevel: 'all' }

/** A fixed input that looks nothing like zeros: every channel and position differs. */
function input(shape: [number, number, number, number]): ort.Tensor {
  const size = shape.reduce((a, b) => a * b, 1)
  const data = new Float32Array(size)
  for (let i = 0; i < size; i++) data[i] = Math.sin(i * 0.37) * Math.cos(i * 0.0013)
  return new ort.Tensor('float32', data, shape)
}

async function outputs(model: Uint8Array, tensor: ort.Tensor): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(model, options)
  try {
    const result = await session.run({ [session.inputNames[0]!]: tensor })
    return result[session.outputNames[0]!]!.data as Float32Array
  } finally {
    await session.release()
  }
}

describe('rewritePaddleGraph', () => {
  it.each([
    ['ch_PP-OCRv4_rec_infer.onnx', [2, 3, 48, 200] as [number, number, number, number], 28],
    ['ch_PP-OCRv4_det_infer.onnx', [1, 3, 96, 160] as [number, number, number, number], 24],
  ])('rewrites %s to the same function', async (file, shape, hardSwishes) => {
    const original = new Uint8Array(await readFile(join(defaultModelDir(), file)))
    const rewritten = rewritePaddleGraph(original)
    expect(rewritten.hardSwish).toBe(hardSwishes)
    expect(rewritten.swapped).toBeGreaterThan(40)
    const tensor = input(shape)
    const [before, after] = await Promise.all([outputs(original, tensor), outputs(rewritten.model, tensor)])
    expect(after.length).toBe(before.length)
    let worst = 0
    for (let i = 0; i < before.length; i++) worst = Math.max(worst, Math.abs(before[i]! - after[i]!))
    expect(worst).toBeLessThan(1e-4)
  })

  it('leaves onnxruntime fewer element-wise passes to run over the rec model', async () => {
    // Work counted, not timed: the nodes left after onnxruntime's own optimisation, as it saves them.
    const dir = await mkdtemp(join(tmpdir(), 'ocr-graph-'))
    try {
      const original = new Uint8Array(await readFile(join(defaultModelDir(), 'ch_PP-OCRv4_rec_infer.onnx')))
      const count = async (model: Uint8Array, name: string): Promise<Map<string, number>> => {
        const path = join(dir, name)
        const session = await ort.InferenceSession.create(model, { ...options, optimizedModelFilePath: path })
        await session.release()
        return opCounts(new Uint8Array(await readFile(path)))
      }
      const before = await count(original, 'before.onnx')
      const after = await count(rewritePaddleGraph(original).model, 'after.onnx')
      const elementWise = (ops: Map<string, number>): number =>
        ['Mul', 'Add', 'Div', 'Clip', 'HardSigmoid'].reduce((sum, op) => sum + (ops.get(op) ?? 0), 0)
      expect(after.get('Conv')).toBe(before.get('Conv'))
      expect(elementWise(after)).toBeLessThan(0.4 * elementWise(before))
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('returns anything it does not understand as it was', () => {
    const garbage = Uint8Array.from([0x3a, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3])
    expect(rewritePaddleGraph(garbage).model).toBe(garbage)
    const empty = new Uint8Array(0)
    expect(rewritePaddleGraph(empty).model).toBe(empty)
  })
})

/** How many nodes of each op type a saved ONNX model's graph holds. */
function opCounts(model: Uint8Array): Map<string, number> {
  const counts = new Map<string, number>()
  const graph = readFields(model, 0, model.length).find((field) => field.field === 7)!
  for (const node of readFields(model, graph.start, graph.end).filter((field) => field.field === 1)) {
    const op = readFields(model, node.start, node.end).find((field) => field.field === 4)!
    const name = new TextDecoder().decode(model.subarray(op.start, op.end))
    counts.set(name, (counts.get(name) ?? 0) + 1)
  }
  return counts
}
