// Runs in the page under test: builds `window.assistant` with the real preload bridge
// over a Playwright binding instead of Electron IPC. Only the transport differs.
import type { AssistantBridge } from '../../electron/ipc/contract'
import { createBridge } from '../../electron/preload/bridge'

declare global {
  interface Window {
    assistant: AssistantBridge
    __assistantCall(channel: string, payload: unknown): Promise<unknown>
    __assistantEmit(channel: string, payload: unknown): void
  }
}

// Playwright's bindings carry JSON; Electron's structured clone carries bytes. Encode them.
function encode(value: unknown): unknown {
  if (value instanceof Uint8Array) {
    let binary = ''
    for (let i = 0; i < value.length; i += 0x8000) binary += String.fromCharCode(...value.subarray(i, i + 0x8000))
    return { __bytes: btoa(binary) }
  }
  if (Array.isArray(value)) return value.map(encode)
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, encode(v)]))
  return value
}

const listeners = new Map<string, Set<(payload: unknown) => void>>()
window.__assistantEmit = (channel, payload) => listeners.get(channel)?.forEach((l) => l(payload))

window.assistant = createBridge({
  invoke: (channel, payload) => window.__assistantCall(channel, encode(payload)),
  on: (channel, listener) => {
    const set = listeners.get(channel) ?? new Set()
    set.add(listener)
    listeners.set(channel, set)
    return () => set.delete(listener)
  },
})
