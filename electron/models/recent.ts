// The models loaded lately, newest first: the model picker's list until the model
// manager lands. Kept in the user's data folder.
import { readFile } from 'node:fs/promises'
import { basename } from 'node:path'
import writeFileAtomic from 'write-file-atomic'
import { z } from 'zod'
import type { RecentModel } from '../ipc/contract.js'
import { exists } from './disk.js'

const List = z.array(
  z.object({ name: z.string(), modelPath: z.string(), mmprojPath: z.string().nullable(), vision: z.boolean(), lastUsed: z.string() }),
)
const MAX = 12

export class RecentModels {
  constructor(private readonly file: string) {}

  /**
   * The entries whose files are there now: a model deleted (in the library or by hand) is no
   * longer offered, to fail with "not found" when picked. Kept in the file all the same, so a
   * model on a disk that is unplugged comes back with the disk.
   */
  async list(): Promise<RecentModel[]> {
    const all = await this.stored()
    const present = await Promise.all(
      all.map(async (m) => (await exists(m.modelPath)) && (m.mmprojPath === null || (await exists(m.mmprojPath)))),
    )
    return all.filter((_, i) => present[i])
  }

  private async stored(): Promise<RecentModel[]> {
    return readFile(this.file, 'utf8').then(
      (text) => List.parse(JSON.parse(text)),
      () => [],
    )
  }

  async add(modelPath: string, mmprojPath: string | null): Promise<RecentModel[]> {
    const entry: RecentModel = {
      name: basename(modelPath).replace(/\.gguf$/i, ''),
      modelPath,
      mmprojPath,
      vision: mmprojPath !== null,
      lastUsed: new Date().toISOString(),
    }
    const list = [entry, ...(await this.stored()).filter((m) => m.modelPath !== modelPath || m.mmprojPath !== mmprojPath)].slice(0, MAX)
    await writeFileAtomic(this.file, JSON.stringify(list, null, 1), { fsync: true })
    return list
  }
}
