// Writes models/catalog.schema.json from the zod schema (the one source of truth).
import { writeFileSync } from 'node:fs'
import { catalogJsonSchema } from '../electron/models/catalog.js'

writeFileSync(new URL('../models/catalog.schema.json', import.meta.url), catalogJsonSchema())
