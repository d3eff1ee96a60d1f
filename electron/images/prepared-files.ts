// The prepared-image cache's files: one per source image and budget, named after the source
// image's content hash, and holding the hash of their own bytes and their own name, so that a
// file holding anything else (another image's copy, a flipped byte, an older preparation) is a
// miss, prepared again and written anew, never an answer about the wrong picture.
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { ImageBudget } from './budget.js'
import type { PreparedImage } from './prepare.js'

/** Written in front of the image bytes: a file that does not start with it is not ours, or of an older layout. */
const MAGIC = 'LVA-PREPARED-2\n'
/** A source image's content key, as refOf gives it. */
const REF = /^[0-9a-f]{64}$/

interface Header {
  key: string
  pipeline: number
  sha256: string
  mime: PreparedImage['mime']
  width: number
  height: number
  bytes: number
}

/** Budget keys by budget object: a loaded model keeps one, and budgets are never changed once made. */
const budgetKeys = new WeakMap<ImageBudget, string>()

/** The entry's file name; null for a ref that is not a content key (it is then kept in memory only). */
export function entryName(ref: string, budget: ImageBudget): string | null {
  if (!REF.test(ref)) return null
  let key = budgetKeys.get(budget)
  if (key === undefined) {
    key = createHash('sha256').update(JSON.stringify(budget)).digest('hex').slice(0, 16)
    budgetKeys.set(budget, key)
  }
  return `${ref}-${key}.prepared`
}

export function encodeEntry(name: string, pipeline: number, image: PreparedImage): Buffer {
  const header: Header = {
    key: name,
    pipeline,
    sha256: createHash('sha256').update(image.data).digest('hex'),
    mime: image.mime,
    width: image.width,
    height: image.height,
    bytes: image.data.byteLength,
  }
  return Buffer.concat([Buffer.from(`${MAGIC}${JSON.stringify(header)}\n`), image.data])
}

/** What is kept under this name: the image, or null when there is none that can be used. */
export async function readEntry(dir: string, name: string, pipeline: number): Promise<PreparedImage | null> {
  let file: Buffer
  try {
    file = await readFile(join(dir, name))
  } catch {
    return null
  }
  const end = file.indexOf('\n', MAGIC.length)
  if (!file.subarray(0, MAGIC.length).equals(Buffer.from(MAGIC)) || end < 0) return null
  let head: Partial<Header> | null
  try {
    head = JSON.parse(file.subarray(MAGIC.length, end).toString('utf8')) as Partial<Header> | null
  } catch {
    return null
  }
  const data = file.subarray(end + 1)
  if (typeof head !== 'object' || head === null) return null
  const valid =
    // Another entry's file under this name (a copy, a restored backup) holds another picture.
    head.key === name &&
    head.pipeline === pipeline &&
    (head.mime === 'image/jpeg' || head.mime === 'image/png') &&
    Number.isInteger(head.width) &&
    Number.isInteger(head.height) &&
    head.bytes === data.byteLength &&
    // A damaged byte inside the image keeps every other field right.
    head.sha256 === createHash('sha256').update(data).digest('hex')
  return valid ? { data: Buffer.from(data), mime: head.mime!, width: head.width!, height: head.height! } : null
}
