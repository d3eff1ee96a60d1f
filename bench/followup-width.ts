// bench:followup's realWidth8: the follow-up after eight earlier images against one after none,
// through the engine, on a text model as wide as a real small one (SmolVLM-256M's text model:
// 576 wide, 9 heads of 64; 8 layers, F32, as bench:attention's) with a projector into that
// width. On the fixture (64 wide, 2 layers) the model's own work for a follow-up's 17 tokens is
// a fraction of a millisecond, so llama-server's handling of the whole conversation on every
// request (its JSON, the template's render, attention over the longer cache) is most of the
// ratio; here the model's work is in it too, as on a real model. textOnly8 is eight turns of
// text as long in tokens: what the longer context costs with no image at all. The fixture's
// figures stay the issue's: these say how much of their ratio is the fixture's size.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { EngineClient } from '../electron/engine/client.js'
import type { ChatMessage } from '../electron/ipc/contract.js'
import { ensureShapedTextModel, SHAPES_DIR, writeMmproj } from '../test/fixtures/generate.js'
import { collect } from '../test/support/engine.js'
import { FILLER_WORDS } from '../test/support/filler.js'
import { sentSecondsBefore } from './followup-media.js'
import { median, round } from './stats.js'

const SHAPE = { nEmbd: 576, nHead: 9, nLayer: 8, nFf: 1536, ctx: 4096 }

export interface WidthFigures {
  model: string
  ttftMs: { 0: number; 8: number }
  evaluatedTokens: { 0: number; 8: number }
  ttftRatio8to0: number
  /** Eight turns of text as long, in tokens, as the eight with images: what the longer context costs by itself. */
  textOnly8: { ttftMs: number; ratioTo0: number }
}

/** The text model (bench:attention's head64 file, the same seed) and a projector into its width. */
async function files(): Promise<{ textModel: string; mmproj: string }> {
  const textModel = await ensureShapedTextModel('head64', SHAPE)
  const mmproj = join(SHAPES_DIR, `mmproj-to-${SHAPE.nEmbd}-f32.gguf`)
  if (!existsSync(mmproj)) await writeMmproj(mmproj, 78, SHAPE.nEmbd)
  return { textModel, mmproj }
}

type Kind = 0 | 8 | 'text'

/** Text of as many tokens as an image takes: the text-only controls' stand-in for an image, here and on the fixture. */
export async function fillerOf(engine: EngineClient, imageTokens: number): Promise<string> {
  let filler = ''
  for (let i = 0; (await engine.countTokens(filler)) < imageTokens && i < 200; i++)
    filler += `${filler ? ' ' : ''}${FILLER_WORDS[i % FILLER_WORDS.length]}`
  return filler
}

export async function measureRealWidth(
  engine: EngineClient,
  pictures: Uint8Array[],
  runs: number,
  rounds: number,
  sampling: { maxTokens: number; temperature: number; seed: number },
): Promise<WidthFigures> {
  const { textModel, mmproj } = await files()
  await engine.load({ modelPath: textModel, mmprojPath: mmproj, gpu: false })
  await sentSecondsBefore(engine, pictures, sampling)
  const ttft: Record<Kind, number[]> = { 0: [], 8: [], text: [] }
  const evaluated: Record<Kind, number[]> = { 0: [], 8: [], text: [] }
  const perRound = Math.max(1, Math.round(runs / rounds))
  let filler: string | null = null
  // All three in each round, as the fixture's counts are measured: the VM's speed drifts over a run.
  for (let k = 0; k < rounds; k++) {
    for (const kind of [0, 8, 'text'] as const) {
      const history: ChatMessage[] = [{ role: 'user', text: 'Hello.' }]
      history.push({ role: 'assistant', text: (await collect(engine.generate({ messages: history, sampling }))).text })
      for (let i = 0; i < (kind === 0 ? 0 : 8); i++) {
        const question = `What is in picture ${i + 1}?`
        history.push(
          kind === 8
            ? { role: 'user', text: question, images: [{ bytes: pictures[i]! }] }
            : { role: 'user', text: `${question} ${filler}` },
        )
        const out = await collect(engine.generate({ messages: history, sampling }))
        history.push({ role: 'assistant', text: out.text })
        if (kind === 8 && i === 0 && filler === null) filler = await fillerOf(engine, out.stats!.imageTokens)
      }
      await collect(engine.generate({ messages: [...history, { role: 'user', text: 'Warm-up: anything else?' }], sampling }))
      for (let r = 0; r < perRound; r++) {
        const stats = (
          await collect(engine.generate({ messages: [...history, { role: 'user', text: `Question ${r}: compare them.` }], sampling }))
        ).stats!
        ttft[kind].push(stats.timeToFirstTokenMs ?? NaN)
        evaluated[kind].push(stats.tokensIn - (stats.cachedTokens ?? 0))
      }
    }
  }
  return {
    model: `${SHAPE.nEmbd} wide, ${SHAPE.nHead} heads of ${SHAPE.nEmbd / SHAPE.nHead}, ${SHAPE.nLayer} layers, F32`,
    ttftMs: { 0: round(median(ttft[0]), 2), 8: round(median(ttft[8]), 2) },
    evaluatedTokens: { 0: median(evaluated[0]), 8: median(evaluated[8]) },
    ttftRatio8to0: round(median(ttft[8]) / median(ttft[0]), 2),
    textOnly8: { ttftMs: round(median(ttft.text), 2), ratioTo0: round(median(ttft.text) / median(ttft[0]), 2) },
  }
}
