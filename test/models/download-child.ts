// Downloads until killed; the parent kills it mid-file to test resuming after a crash.
import { downloadFile } from '../../electron/models/downloader.js'

const [url, dir, fileName] = process.argv.slice(2) as [string, string, string]
let told = false
await downloadFile({ url, fileName }, dir, {
  progressIntervalMs: 0,
  onProgress: (p) => {
    if (!told && p.downloadedBytes > 0) {
      told = true
      process.send?.('started')
    }
  },
})
