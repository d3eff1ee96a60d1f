// The GPUs a llama-server build can use here, as it lists them itself (--list-devices), before a
// model is given to it: a Vulkan loader on the machine does not mean a Vulkan GPU (a desktop
// with Mesa's software driver only has one), and offloading layers to no device would leave the
// engine info saying "GPU" for a model that runs on the CPU.
import { execFile } from 'node:child_process'
import { serverEnv } from './server-process.js'

export interface ServerDevice {
  /** llama.cpp's name for it: "Vulkan0". */
  id: string
  name: string
  /** Its memory, as the build reports it; null where the line gives none. */
  totalMiB: number | null
  freeMiB: number | null
}

/**
 * The devices in llama-server's --list-devices output:
 *   Available devices:
 *     Vulkan0: AMD Radeon RX 7600 (RADV NAVI33) (8176 MiB, 7900 MiB free)
 * "(none)" or nothing under the heading is no device.
 */
export function parseDeviceList(output: string): ServerDevice[] {
  const lines = output.split(/\r?\n/)
  const start = lines.findIndex((l) => /^Available devices:/.test(l.trim()))
  if (start < 0) return []
  const devices: ServerDevice[] = []
  for (const line of lines.slice(start + 1)) {
    const m = /^\s+([A-Za-z]+\d+):\s+(.*?)\s*(?:\((\d+) MiB, (\d+) MiB free\))?\s*$/.exec(line)
    if (!m) {
      if (line.trim() === '' || line.trim() === '(none)') continue
      break
    }
    devices.push({ id: m[1]!, name: m[2]!, totalMiB: m[3] ? Number(m[3]) : null, freeMiB: m[4] ? Number(m[4]) : null })
  }
  return devices
}

/** A first run of a Vulkan build creates its instance and reads every driver: seconds on a slow disk. */
const LIST_TIMEOUT_MS = 30_000

/** The devices this build lists here; none when it cannot say (it failed, or ran too long). */
export function listServerDevices(binary: string, env: NodeJS.ProcessEnv = serverEnv()): Promise<ServerDevice[]> {
  return new Promise((resolve) => {
    execFile(binary, ['--list-devices'], { env, timeout: LIST_TIMEOUT_MS, windowsHide: true }, (error, stdout, stderr) => {
      resolve(error ? [] : parseDeviceList(`${stdout}\n${stderr}`))
    })
  })
}
