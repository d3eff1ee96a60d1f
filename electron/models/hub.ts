// Hugging Face: search for GGUF repositories, list a repository's model and projector
// files (or every file, for the text layer's language packs) with their exact sizes and checksums (an LFS file's SHA-256, or the git blob SHA-1
// of a file kept in git), and build download URLs.
// Through @huggingface/hub, the hub's own client, so paging and its API details are theirs.
import { listFiles, listModels } from '@huggingface/hub'
import type { HubFile, HubModel, HubRepoFiles } from '../ipc/contract.js'
import { AppError } from '../ipc/errors.js'
import { quantisationFromName } from './quantisation.js'

export const HUB_URL = 'https://huggingface.co'

export interface HubOptions {
  /** Another hub (a mirror, or a local server in tests). */
  hubUrl?: string
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

export function createHub({ hubUrl = HUB_URL }: HubOptions = {}): Hub {
  const base = hubUrl.replace(/\/+$/, '')
  const fail = (what: string, error: unknown): never => {
    const message = error instanceof Error ? error.message : String(error)
    if (/404|not found/i.test(message)) throw new AppError('not-found', `${what}: not found on Hugging Face.`)
    throw new AppError(
      'network',
      `${what}: Hugging Face could not be reached (${message.split('\n')[0]}). Check the connection and try again.`,
    )
  }

  async function allFiles(repo: string, revision: string): Promise<HubFile[]> {
    const files: HubFile[] = []
    try {
      for await (const f of listFiles({ repo: { type: 'model', name: repo }, recursive: true, revision, hubUrl: base })) {
        if (f.type !== 'file') continue
        // Checksums are taken only in their exact form: a malformed one is no checksum, and the file is unverified.
        const sha256 = f.lfs && SHA256.test(f.lfs.oid) ? f.lfs.oid : null
        // An LFS file's git oid hashes its pointer, not the file; only a file kept in git has its own.
        const gitBlobSha1 = !f.lfs && f.oid && SHA1.test(f.oid) ? f.oid : null
        files.push({ path: f.path, bytes: f.lfs?.size ?? f.size, sha256, gitBlobSha1, quantisation: quantisationFromName(f.path) })
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
        for await (const m of listModels({ search: { query, tags: ['gguf'] }, sort: 'downloads', limit: 30, hubUrl: base })) {
          found.push({
            repo: m.name,
            downloads: m.downloads,
            likes: m.likes,
            updatedAt: m.updatedAt.toISOString(),
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
      const files = (await allFiles(repo, revision)).filter((f) => /\.gguf$/i.test(f.path) && !SPLIT_PART.test(f.path))
      const isProjector = (f: HubFile): boolean => /mmproj/i.test(f.path.split('/').pop() ?? '')
      return { repo, models: files.filter((f) => !isProjector(f)), projectors: files.filter(isProjector) }
    },

    fileUrl(repo, revision, path) {
      return `${base}/${repo}/resolve/${encodeURIComponent(revision)}/${path.split('/').map(encodeURIComponent).join('/')}`
    },
  }
}
