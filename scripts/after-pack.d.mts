// Types for scripts/after-pack.mjs (a plain module, so electron-builder can load it without a build step).
import type { AfterPackContext } from 'electron-builder'

export default function afterPack(context: AfterPackContext): Promise<void>
