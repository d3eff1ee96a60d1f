// The image hand-off between main and the engine process: each image keyed by its content,
// and sent as that key alone once the engine process holds it.
import type { GenerateRequest } from '../ipc/contract.js'
import { refOf } from '../images/prepared-cache.js'
import type { EngineRequest } from './types.js'

/** The content keys of the images the engine process has prepared for the loaded model. */
export class HeldImages {
  private readonly refs = new Set<string>()

  clear(): void {
    this.refs.clear()
  }

  /** Bounded, oldest first: a key the engine has let go of costs one refusal, then the bytes go again. */
  hold(ref: string): void {
    this.refs.delete(ref)
    this.refs.add(ref)
    if (this.refs.size > 1024) this.refs.delete(this.refs.values().next().value!)
  }

  /** The request as the engine process gets it: each image with its content key, and its bytes unless held (or whole). */
  toWire(request: GenerateRequest, whole: boolean): { wire: EngineRequest; refs: string[] } {
    const refs: string[] = []
    const messages = request.messages.map((m) => {
      if (!m.images?.length) return m
      const images = m.images.map((image) => {
        const ref = refOf(image.bytes)
        refs.push(ref)
        return !whole && this.refs.has(ref) ? { ref, ...(image.name ? { name: image.name } : {}) } : { ...image, ref }
      })
      return { ...m, images }
    })
    return { wire: { ...request, messages }, refs }
  }
}
