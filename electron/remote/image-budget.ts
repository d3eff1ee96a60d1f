// How far images are scaled down before they go to a remote engine, at each of the user's image
// detail levels (Settings, Engine), the same setting the engine on this computer follows.
// A server's projector is unknown here, so the budget is a plain pixel cap. A remote machine is
// usually the bigger one: before, it got this computer's plain cap (1024 px, 1 MP) whatever the
// setting; that is now the low level, and the others allow more.
import type { ImageDetail, PixelBudget } from '../images/budget.js'

/**
 * Balanced hands a 1920x1080 screenshot over at its own size, as this computer's balanced level
 * does for a dynamic-resolution projector such as Qwen2.5-VL's, where text stays legible; high
 * goes to prepareImage's largest side for a plain budget (MAX_SIDE, 2048). Measured on a
 * screenshot-like PNG (JPEG out, as prepareImage makes it): 1920x1080 goes at 1024x576 (117 KiB)
 * low, 1920x1080 (323 KiB) balanced and high; 2560x1440 at 1920x1080 (228 KiB) balanced,
 * 2048x1152 (247 KiB) high. Each follow-up sends the conversation's earlier images again.
 */
const BUDGETS: Record<ImageDetail, PixelBudget> = {
  low: { maxSide: 1024, maxPixels: 1024 * 1024 },
  balanced: { maxSide: 1920, maxPixels: 1920 * 1080 },
  high: { maxSide: 2048, maxPixels: 3_000_000 },
}

export function remoteImageBudget(detail: ImageDetail): PixelBudget {
  return BUDGETS[detail]
}
