// zod building blocks the domains' schemas share. Main only: the preload and the renderer
// import types, never these.
import { z } from 'zod'
import { LIMITS } from './defaults.js'

export const Text = z.string().max(LIMITS.textChars)
export const FilePath = z.string().min(1).max(LIMITS.pathChars)
