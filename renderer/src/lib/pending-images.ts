// What the composer sends with a question: its images, and the question main gave back.
import { LIMITS, formatBytes } from '@contract'

export interface PendingImage {
  url: string
  name: string
  bytes: Uint8Array
}

/** A question main refused before storing it, with its images: the composer takes it back. */
export interface ReturnedQuestion {
  text: string
  images: PendingImage[]
}

/**
 * Why these attachments cannot go with one message (more than the IPC contract takes, or an
 * image larger than it takes), in the user's words; null when they can. Checked before sending,
 * as tooLongText is: main's schema would refuse them with its own terse text.
 */
export function tooManyImages(images: readonly PendingImage[]): string | null {
  const most = LIMITS.imagesPerMessage
  if (images.length > most) {
    const over = images.length - most
    return `You attached ${images.length} images; one message can take at most ${most}. Remove ${over}, or ask about ${over === 1 ? 'it' : 'them'} in another message.`
  }
  const large = images.find((i) => i.bytes.byteLength > LIMITS.imageBytes)
  if (large)
    return `${large.name} is larger than ${formatBytes(LIMITS.imageBytes)}, the most one image can be. Attach a smaller copy of it.`
  return null
}
