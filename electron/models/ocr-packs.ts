// What downloading a text-layer language pack means for the download manager: its
// recognition model and dictionary, checked like any model file (the hub's LFS SHA-256, or the
// git blob SHA-1 of a small file kept in git), installed together into MODELS/ocr/ID only
// once both are verified, so the text layer never sees half a pack.
import { AppError } from '../ipc/errors.js'
import type { OcrPack } from '../ocr/languages.js'
import type { PlannedFile } from './download-manager.js'
import type { Hub } from './hub.js'

/** The fixed names a pack's files get on disk, whatever the hub calls them. */
export const PACK_MODEL = 'rec.onnx'
export const PACK_DICTIONARY = 'dict.txt'

/** Where a pack's files go, relative to the models folder. */
export const packFolder = (id: string): string => `ocr/${id}`

export interface PlannedPack {
  title: string
  catalogId: null
  ocrPack: string
  folder: string
  files: PlannedFile[]
}

export async function resolveOcrPack(hub: Hub, packs: readonly OcrPack[], id: string): Promise<PlannedPack> {
  const pack = packs.find((p) => p.id === id)
  if (!pack) throw new AppError('not-found', `There is no text-layer language pack “${id}”.`)
  const { source } = pack
  if (!source) throw new AppError('busy', `${pack.name} comes with the app; there is nothing to download.`)
  const listing = await hub.files(source.repo, source.revision)
  const planned = (path: string, role: 'ocr-model' | 'ocr-dictionary', fileName: string): PlannedFile => {
    const remote = listing.find((f) => f.path === path)
    if (!remote) throw new AppError('not-found', `${path} is not in ${source.repo} on Hugging Face.`)
    return {
      url: hub.fileUrl(source.repo, source.revision, path),
      fileName,
      role,
      size: remote.bytes,
      sha256: remote.sha256,
      gitBlobSha1: remote.sha256 ? null : remote.gitBlobSha1,
      done: false,
    }
  }
  return {
    title: `Text layer: ${pack.name}`,
    catalogId: null,
    ocrPack: pack.id,
    folder: packFolder(pack.id),
    files: [planned(source.model, 'ocr-model', PACK_MODEL), planned(source.dictionary, 'ocr-dictionary', PACK_DICTIONARY)],
  }
}
