// Runs a download manager until killed; the parent kills it mid-file to test that the
// download resumes after a crash, from the bytes already on disk.
import { DownloadManager } from '../../electron/models/download-manager.js'
import { createHub } from '../../electron/models/hub.js'
import type { Catalog } from '../../electron/ipc/contract.js'

const [hubUrl, root, catalogJson] = process.argv.slice(2) as [string, string, string]
const catalog = JSON.parse(catalogJson) as Catalog
let told = false
const manager = await DownloadManager.open({
  root,
  hub: createHub({ hubUrl }),
  catalog,
  downloadOptions: { progressIntervalMs: 0 },
  onChange: (jobs) => {
    if (!told && (jobs[0]?.downloadedBytes ?? 0) > 50_000) {
      told = true
      process.send?.(jobs[0]!.id)
    }
  },
})
await manager.start({ source: 'catalog', id: catalog.recommended })
