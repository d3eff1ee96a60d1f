// A conversation's file, conversation.json, one in each conversation's folder: written
// atomically (temporary file, fsync, rename, fsync of the folder) so a crash or power loss
// leaves either the old or the new version, never a torn one. Its images are stored beside it
// (image-files.ts), never inlined into the JSON.
import { readdir, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import writeFileAtomic from 'write-file-atomic'
import { z } from 'zod'
import { DEFAULT_CHAT_SETTINGS, type Conversation } from '../ipc/contract.js'
import { AnswerFormat } from '../engine/contract.js'
import { syncDirectory } from './disk.js'

export const CONVERSATION_FILE = 'conversation.json'
/** write-file-atomic's temporary file for conversation.json: the name, a dot and a number. */
const ATOMIC_TEMP = /^conversation\.json\.\d+$/

// Files on disk are checked on the way in too: a hand-edited or foreign file is reported, not trusted.
const StoredImageSchema = z.object({
  id: z.string(),
  mime: z.string(),
  width: z.number(),
  height: z.number(),
  bytes: z.number(),
  name: z.string().nullable(),
  // The text layer's reading came later; a reading that does not parse is dropped and read again.
  text: z
    .discriminatedUnion('status', [
      z.object({
        status: z.literal('read'),
        text: z.string(),
        lines: z.number(),
        confidence: z.number(),
        unsure: z.number(),
        language: z.string(),
        ms: z.number(),
      }),
      z.object({ status: z.literal('none'), unsure: z.number(), ms: z.number() }),
      z.object({ status: z.literal('failed'), reason: z.string() }),
    ])
    .optional()
    .catch(undefined),
})
const StatsSchema = z.object({
  tokensIn: z.number(),
  cachedTokens: z.number().optional(),
  droppedTurns: z.number().optional(),
  tokensOut: z.number(),
  imageTokens: z.number(),
  timeToFirstTokenMs: z.number().nullable(),
  tokensPerSecond: z.number().nullable(),
  totalMs: z.number(),
  stopReason: z.enum(['eos', 'max-tokens', 'context-full', 'stop-sequence', 'cancelled', 'engine-crashed']),
})
const ConversationSchema = z.object({
  version: z.literal(1),
  id: z.uuid(),
  title: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  systemPrompt: z.string(),
  // Added after the first files were written: older conversations get the defaults.
  // format came later still: absent, answers are text.
  settings: z
    .object({
      maxTokens: z.number(),
      temperature: z.number(),
      format: AnswerFormat.optional(),
      contextFull: z.enum(['drop-oldest', 'stop']).optional().catch(undefined),
    })
    .default(DEFAULT_CHAT_SETTINGS),
  model: z.object({ modelPath: z.string(), mmprojPath: z.string().nullable() }).nullable().default(null),
  // Remote engines came later: absent, this computer's engine answers.
  engine: z.object({ id: z.string(), model: z.string() }).nullable().optional(),
  messages: z.array(
    z.object({
      id: z.string(),
      role: z.enum(['user', 'assistant']),
      text: z.string(),
      images: z.array(StoredImageSchema),
      createdAt: z.string(),
      status: z.enum(['complete', 'streaming', 'stopped', 'cut-off', 'error']),
      stats: StatsSchema.nullable(),
      error: z.string().nullable(),
      model: z.string().nullable(),
      notes: z.array(z.string()).optional(),
      engine: z.string().optional(),
    }),
  ),
})

/** How conversation.json is written: a seam for crash tests. */
export type WriteFile = (path: string, data: string) => Promise<void>

/** The atomic write step itself: write-file-atomic's temporary file, fsync and rename. */
export const writeAtomically: WriteFile = (path, data) => writeFileAtomic(path, data, { fsync: true })

export async function writeConversationFile(write: WriteFile, dir: string, conversation: Conversation): Promise<void> {
  await write(join(dir, CONVERSATION_FILE), JSON.stringify(conversation, null, 1))
  await syncDirectory(dir)
}

/**
 * A crash between writing and renaming leaves write-file-atomic's temporary file (a number after
 * the name): the real one is intact. Other names, such as a copy the user made before editing
 * the file, are left alone.
 */
export async function removeAtomicTemps(dir: string): Promise<void> {
  for (const file of await readdir(dir)) if (ATOMIC_TEMP.test(file)) await rm(join(dir, file), { force: true }).catch(() => undefined)
}

/** The conversation in folder `dir`, named `id`; throws when its file is missing, not JSON, not a conversation, or another's. */
export async function readConversationFile(dir: string, id: string): Promise<Conversation> {
  const parsed = ConversationSchema.parse(JSON.parse(await readFile(join(dir, CONVERSATION_FILE), 'utf8')))
  if (parsed.id !== id) throw new Error('its id does not match its folder')
  return parsed
}

/** Why a conversation could not be read, in one line for the damaged list (zod's messages run to many). */
export function damageReason(error: unknown): string {
  return error instanceof Error ? error.message.split('\n')[0]! : String(error)
}
