// What a download request means in files: a catalog entry's model and projector (their
// SHA-256 pinned or not), a search result's choice, or a text-layer language pack
// (ocr-packs.ts), each file looked up in the hub's listing for its URL, size and checksum.
import type { Catalog, DownloadStart, HubFile } from '../ipc/contract.js'
import { AppError } from '../ipc/errors.js'
import type { OcrPack } from '../ocr/languages.js'
import type { StoredJob } from './download-list.js'
import type { Hub } from './hub.js'
import { resolveOcrPack } from './ocr-packs.js'

export type DownloadPlan = Pick<StoredJob, 'title' | 'catalogId' | 'ocrPack' | 'folder' | 'files'>

export async function planDownload(
  hub: Hub,
  catalog: Catalog,
  ocrPacks: readonly OcrPack[],
  request: DownloadStart,
): Promise<DownloadPlan> {
  return request.source === 'ocr'
    ? await resolveOcrPack(hub, ocrPacks, request.id)
    : { ...(await resolveModel(hub, catalog, request)), ocrPack: null }
}

async function resolveModel(
  hub: Hub,
  catalog: Catalog,
  request: Exclude<DownloadStart, { source: 'ocr' }>,
): Promise<Pick<StoredJob, 'title' | 'catalogId' | 'folder' | 'files'>> {
  let repo: string
  let revision = 'main'
  let title: string
  let wanted: { role: 'model' | 'mmproj'; path: string; sha256: string | null }[]
  if (request.source === 'catalog') {
    const entry = catalog.entries.find((e) => e.id === request.id)
    if (!entry) throw new AppError('not-found', `There is no catalog model “${request.id}”.`)
    const model = request.quantisation ? entry.models.find((m) => m.quantisation === request.quantisation) : entry.models[0]
    if (!model) throw new AppError('not-found', `${entry.name} has no ${request.quantisation} file in the catalog.`)
    repo = entry.repo
    revision = entry.revision
    title = `${entry.name} (${model.quantisation})`
    wanted = [
      { role: 'model', path: model.file, sha256: model.sha256 },
      { role: 'mmproj', path: entry.mmproj.file, sha256: entry.mmproj.sha256 },
    ]
  } else {
    repo = request.repo
    title = `${request.model
      .split('/')
      .pop()!
      .replace(/\.gguf$/i, '')}${request.mmproj ? '' : ' (text only)'}`
    wanted = [
      { role: 'model', path: request.model, sha256: null },
      ...(request.mmproj ? [{ role: 'mmproj' as const, path: request.mmproj, sha256: null }] : []),
    ]
  }
  const listing = await hub.repoFiles(repo, revision)
  const all = [...listing.models, ...listing.projectors]
  const files = wanted.map(({ role, path, sha256 }) => {
    const remote: HubFile | undefined = all.find((f) => f.path === path)
    if (!remote) throw new AppError('not-found', `${path} is not in ${repo} on Hugging Face.`)
    if (sha256 && remote.sha256 && sha256 !== remote.sha256) {
      throw new AppError(
        'bad-model-file',
        `${path} on Hugging Face is not the file this catalog names (its SHA-256 changed). Update the app, or pick it through search instead.`,
      )
    }
    // A pinned or LFS SHA-256 is the stronger check; the git blob SHA-1 stands in only without one.
    const sha = sha256 ?? remote.sha256
    return {
      url: hub.fileUrl(repo, revision, path),
      fileName: path.split('/').pop()!,
      role,
      size: remote.bytes,
      sha256: sha,
      gitBlobSha1: sha ? null : remote.gitBlobSha1,
      done: false,
    }
  })
  const folder = files[0]!.fileName.replace(/\.gguf$/i, '')
  return { title, catalogId: request.source === 'catalog' ? request.id : null, folder, files }
}
