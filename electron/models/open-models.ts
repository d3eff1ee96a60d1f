// The model manager's parts, wired together for main (and for tests and benches, which
// pass their own hub address, file picker and folder).
import type { Catalog, DownloadJob } from '../ipc/contract.js'
import type { OcrPack } from '../ocr/languages.js'
import { CATALOG } from './catalog.js'
import { DownloadManager, type DownloadManagerOptions } from './download-manager.js'
import { createHub, type Hub } from './hub.js'
import { createModelService, type ModelService, type ModelServiceDeps } from './model-service.js'

export interface ModelsOptions {
  root: string
  engine: ModelServiceDeps['engine']
  pickModelFiles: ModelServiceDeps['pickModelFiles']
  cpuOnly?: ModelServiceDeps['cpuOnly']
  revealFile: ModelServiceDeps['revealFile']
  onDownloadsChanged?(jobs: DownloadJob[]): void
  onLibraryChanged?(): void
  hubUrl?: string
  catalog?: Catalog
  /** The text layer's language packs offered for download; the app's own list by default. */
  ocrPacks?: readonly OcrPack[]
  downloadOptions?: DownloadManagerOptions['downloadOptions']
}

export interface Models {
  models: ModelService
  downloads: DownloadManager
  hub: Hub
  catalog: Catalog
}

export async function openModels(options: ModelsOptions): Promise<Models> {
  const hub = createHub({ hubUrl: options.hubUrl })
  const catalog = options.catalog ?? CATALOG
  const downloads = await DownloadManager.open({
    root: options.root,
    hub,
    catalog,
    ocrPacks: options.ocrPacks,
    onChange: options.onDownloadsChanged,
    onLibraryChanged: options.onLibraryChanged,
    downloadOptions: options.downloadOptions,
  })
  const models = createModelService({
    root: options.root,
    engine: options.engine,
    pickModelFiles: options.pickModelFiles,
    revealFile: options.revealFile,
    ...(options.cpuOnly ? { cpuOnly: options.cpuOnly } : {}),
    onChanged: options.onLibraryChanged,
  })
  return { models, downloads, hub, catalog }
}
