// The context a load gets (electron/ipc/defaults.ts, used by every binding and the fit estimate).
import { describe, expect, it } from 'vitest'
import { contextSizeFor, DEFAULT_CONTEXT_SIZE } from '../../electron/ipc/defaults.js'

describe('the context a model gets', () => {
  it('is what the load asks for, else the default, and never more than the model was trained on', () => {
    expect(contextSizeFor(32_768)).toBe(DEFAULT_CONTEXT_SIZE)
    expect(contextSizeFor(4096)).toBe(4096)
    expect(contextSizeFor(null)).toBe(DEFAULT_CONTEXT_SIZE)
    expect(contextSizeFor(32_768, 16_384)).toBe(16_384)
    expect(contextSizeFor(4096, 2048)).toBe(2048)
    expect(contextSizeFor(4096, 1_048_576)).toBe(4096)
    // A file that does not say: the request stands.
    expect(contextSizeFor(null, 16_384)).toBe(16_384)
  })
})
