// A process that takes the data folder's lock, as the app does before its services start,
// and holds it until told to exit (releasing it) or killed (leaving it stale).
import { acquireDataLock } from '../../electron/services/data-lock.js'

export type LockReport = { kind: 'locked'; pid: number } | { kind: 'refused'; message: string }

const report = (message: LockReport, then?: () => void): void => void process.send?.(message, then)

try {
  await acquireDataLock(process.argv[2]!)
  report({ kind: 'locked', pid: process.pid })
  process.on('message', (command) => {
    if (command === 'exit') process.exit(0)
  })
} catch (error) {
  report({ kind: 'refused', message: error instanceof Error ? error.message : String(error) }, () => process.exit(1))
}
