// Hugging Face: search for GGUF repositories, list a repository's model and projector
// files (or every file, for the text layer's language packs) with their exact sizes and checksums (an LFS file's SHA-256, or the git blob SHA-1
// of a file kept in git), and build download URLs.
// Through @huggingface/hub, the hub's own client, so paging and its API details are theirs.
import { HubApiError, listFiles, listModels } from '@huggingface/hub'
import type { HubFile, HubModel, HubRepoFiles } from '../ipc/contract.js'
import { HubPath } from './contract.js'
import { AppError } from '../ipc/errors.js'
import { quantisationFromName } from './quantisation.js'

export const HUB_URL = 'https://huggingface.co'

export interface HubOptions {
  /** Another hub (a mirror, or a local server in tests). */
  hubUrl?: string
  /** How long one request to the hub may take before it counts as unanswered. */
  timeoutMs?: number
}

export interface Hub {
  search(query: string): Promise<HubModel[]>
  repoFiles(repo: string, revision?: string): Promise<HubRepoFiles>
  /** Every file of a repository at a revision, whatever its kind (a language pack's ONNX model and dictionary). */
  files(repo: string, revision: string): Promise<HubFile[]>
  fileUrl(repo: string, revision: string, path: string): string
}

/** Later parts of a split model; only whole files are offered. */
const SPLIT_PART = /-\d{5}-of-\d{5}\.gguf$/i
const SHA256 = /^[0-9a-f]{64}$/
const SHA1 = /^[0-9a-f]{40}$/

export function createHub({ hubUrl = HUB_URL, timeoutMs = 20_000 }: HubOptions = {}): Hub {
  const base = hubUrl.replace(/\/+$/, '')
  // Without a limit a hub that accepts the connection and never answers held a search, and a
  // download waiting on its file list, for as long as the operating system kept the socket.
  const fetchWithTimeout: typeof fetch = (input, init) => {
    const timeout = AbortSignal.timeout(timeoutMs)
    return fetch(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout })
  }
  // Told apart by the hub's status code, not by words in its message (a request id or a
  // query can hold "404"); a timeout and an answer this app cannot read each say so.
  const fail = (what: string, error: unknown): never => {
    if (error instanceof HubApiError) {
      const status = error.statusCode
      if (status === 404) throw new AppError('not-found', `${what}: not found on Hugging Face.`)
      if (status === 401 || status === 403)
        throw new AppError('not-found', `${what}: Hugging Face refused access (${status}); the repository may be private or gated.`)
      if (status === 429) throw new AppError('network', `${what}: Hugging Face is limiting requests (429). Try again in a minute.`)
      throw new AppError('network', `${what}: Hugging Face answered ${status}. Try again later.`)
    }
    const message = error instanceof Error ? error.message : String(error)
    if (error instanceof Error && (error.name === 'TimeoutError' || (error.cause as Error | undefined)?.name === 'TimeoutError'))
      throw new AppError(
        'network',
        `${what}: Hugging Face did not answer within ${timeoutMs >= 1000 ? `${Math.round(timeoutMs / 1000)} s` : `${timeoutMs} ms`}. Try again later.`,
      )
    if (error instanceof TypeError && /fetch failed/i.test(message))
      throw new AppError(
        'network',
        `${what}: Hugging Face could not be reached (${message.split('\n')[0]}). Check the connection and try again.`,
      )
    throw new AppError('network', `${what}: Hugging Face sent an answer this app could not read (${message.split('\n')[0]}).`)
  }

  async function allFiles(repo: string, revision: string): Promise<HubFile[]> {
    const files: HubFile[] = []
    try {
      for await (const f of listFiles({
        repo: { type: 'model', name: repo },
        recursive: true,
        revision,
        hubUrl: base,
        fetch: fetchWithTimeout,
      })) {
        if (f.type !== 'file' || typeof f.path !== 'string') continue
        const bytes = f.lfs?.size ?? f.size
        // A file whose size is not given cannot be checked for room, resumed safely or saved in the download list.
        if (typeof bytes !== 'number' || !Number.isSafeInteger(bytes) || bytes < 0) continue
        // Checksums are taken only in their exact form: a malformed one is no checksum, and the file is unverified.
        const sha256 = f.lfs && SHA256.test(f.lfs.oid) ? f.lfs.oid : null
        // An LFS file's git oid hashes its pointer, not the file; only a file kept in git has its own.
        const gitBlobSha1 = !f.lfs && f.oid && SHA1.test(f.oid) ? f.oid : null
        files.push({ path: f.path, bytes, sha256, gitBlobSha1, quantisation: quantisationFromName(f.path) })
      }
    } catch (error) {
      fail(`Listing ${repo}`, error)
    }
    return files
  }

  return {
    async search(query) {
      const found: HubModel[] = []
      try {
        for await (const m of listModels({
          search: { query, tags: ['gguf'] },
          sort: 'downloads',
          limit: 30,
          hubUrl: base,
          fetch: fetchWithTimeout,
        })) {
          // One malformed entry is left out, not the whole search.
          const updated = m.updatedAt instanceof Date ? m.updatedAt : new Date(NaN)
          if (typeof m.name !== 'string' || !m.name || Number.isNaN(updated.getTime())) continue
          found.push({
            repo: m.name,
            downloads: count(m.downloads),
            likes: count(m.likes),
            updatedAt: updated.toISOString(),
            gated: m.gated !== false,
          })
        }
      } catch (error) {
        fail(`Searching for “${query}”`, error)
      }
      return found
    },

    files: allFiles,

    async repoFiles(repo, revision = 'main') {
      // A name a download refuses (one that is not a plain file name: it becomes a file and a
      // folder in the models folder) is not offered: picking one ended in a validation message.
      // HubPath also keeps only GGUF files.
      const files = (await allFiles(repo, revision)).filter((f) => !SPLIT_PART.test(f.path) && HubPath.safeParse(f.path).success)
      const isProjector = (f: HubFile): boolean => /mmproj/i.test(f.path.split('/').pop() ?? '')
      return { repo, models: files.filter((f) => !isProjector(f)), projectors: files.filter(isProjector) }
    },

    fileUrl(repo, revision, path) {
      return `${base}/${repo}/resolve/${encodeURIComponent(revision)}/${path.split('/').map(encodeURIComponent).join('/')}`
    },
  }
}

const count = (n: unknown): number => (typeof n === 'number' && Number.isFinite(n) && n >= 0 ? Math.floor(n) : 0)
