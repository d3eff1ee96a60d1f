import { copyFile, mkdtemp, open, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ChatMessage, GenerateChunk, GenerationStats, Sampling } from '../../electron/ipc/contract.js'
import { EngineClient } from '../../electron/engine/client.js'
import { nodeEngineSpawner } from '../../electron/engine/spawn-node.js'

export function startEngine(
  onState?: ConstructorParameters<typeof EngineClient>[0]['onState'],
  built = false,
  env: Record<string, string> = {},
): EngineClient {
  const onOutput = process.env.ENGINE_DEBUG ? (text: string) => void process.stderr.write(text) : undefined
  return new EngineClient({ spawn: nodeEngineSpawner({ env: { ENGINE_THREADS: '1', ...env }, onOutput, built }), onState })
}

export interface Collected {
  text: string
  tokens: number
  chunks: number
  stats: GenerationStats | null
  firstChunkMs: number | null
}

export async function collect(stream: AsyncIterable<GenerateChunk>, onChunk?: (c: Collected) => void): Promise<Collected> {
  const started = performance.now()
  const out: Collected = { text: '', tokens: 0, chunks: 0, stats: null, firstChunkMs: null }
  for await (const chunk of stream) {
    out.chunks++
    if (chunk.kind === 'tokens') {
      out.firstChunkMs ??= performance.now() - started
      out.text += chunk.text
      out.tokens += chunk.count
    } else out.stats = chunk.stats
    onChunk?.(out)
  }
  return out
}

export const ask = (text: string, images?: Uint8Array[]): ChatMessage[] => [
  { role: 'user', text, ...(images ? { images: images.map((bytes) => ({ bytes })) } : {}) },
]
export const greedy = (maxTokens: number): Sampling => ({ maxTokens, temperature: 0, seed: 7 })

export async function scratchDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'lva-test-'))
}

/** A copy of a GGUF file cut short, as an interrupted download leaves it. */
export async function truncatedCopy(source: string, dir: string, keepFraction: number): Promise<string> {
  const target = join(dir, `truncated-${keepFraction}.gguf`)
  await copyFile(source, target)
  const handle = await open(target, 'r+')
  const { size } = await handle.stat()
  await handle.truncate(Math.floor(size * keepFraction))
  await handle.close()
  return target
}

export async function fileWith(dir: string, name: string, content: string | Uint8Array): Promise<string> {
  const path = join(dir, name)
  await writeFile(path, content)
  return path
}
