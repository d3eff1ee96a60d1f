// The curated catalog (models/catalog.json): a handful of vision models with their
// projector, sizes and licences. Validated on load; its JSON Schema is generated from the
// same zod schema the IPC contract uses (models/contract.ts) (npm run catalog:schema), and a test keeps it current.
import { z } from 'zod'
import { Catalog } from './contract.js'
import catalogJson from '../../models/catalog.json' with { type: 'json' }

export function parseCatalog(json: unknown): Catalog {
  const catalog = Catalog.parse(json)
  const ids = catalog.entries.map((e) => e.id)
  if (new Set(ids).size !== ids.length) throw new Error('models/catalog.json: entry ids must be unique')
  if (!ids.includes(catalog.recommended))
    throw new Error(`models/catalog.json: the recommended entry ${catalog.recommended} is not in the catalog`)
  return catalog
}

export const CATALOG: Catalog = parseCatalog(catalogJson)

export function catalogJsonSchema(): string {
  return `${JSON.stringify(z.toJSONSchema(Catalog, { target: 'draft-2020-12' }), null, 2)}\n`
}
