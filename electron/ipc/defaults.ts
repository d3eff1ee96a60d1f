// The values and sentences that more than one module relies on, in one place, so the
// engine, the fit estimate, main and the renderer cannot drift apart. No runtime imports:
// the preload and the renderer import it too.

/** Context size when a load names none: this, or the model's training context if smaller. */
export const DEFAULT_CONTEXT_SIZE = 8192

/** The context a model gets: what the load asks for, else the default capped by the model's training context. */
export function contextSizeFor(trainContextSize: number | null, requested?: number): number {
  return requested ?? Math.min(DEFAULT_CONTEXT_SIZE, trainContextSize ?? DEFAULT_CONTEXT_SIZE)
}

/** The local API's port until the user picks another. */
export const DEFAULT_API_PORT = 11435

/** One sentence per situation the user meets in more than one place. */
export const MESSAGES = {
  noVision: 'The loaded model has no vision projector (mmproj), so it cannot see images. Load a vision model or remove the images.',
  /** The same, where the image is the screenshot quick-ask holds. */
  noVisionScreenshot: 'The loaded model has no vision projector (mmproj), so it cannot see the screenshot. Load a vision model in the chat window.',
} as const
