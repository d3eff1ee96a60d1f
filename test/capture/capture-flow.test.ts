// The hotkey, tray and quick-ask actions on the capture windows, with Electron replaced by
// recorders: which window opens where, over which image, and in what order.
import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import { createCaptureFlow, type CaptureFlowWindows } from '../../electron/capture/capture-flow.js'
import { CaptureService } from '../../electron/capture/capture-service.js'
import type { DisplayInfo } from '../../electron/capture/region.js'

const LEFT: DisplayInfo = { id: 1, bounds: { x: 0, y: 0, width: 1920, height: 1080 }, scaleFactor: 1 }

const png = async (width: number, height: number): Promise<Uint8Array> =>
  new Uint8Array(
    await sharp({ create: { width, height, channels: 3, background: '#336' } })
      .png()
      .toBuffer(),
  )

function setup() {
  const capture = new CaptureService()
  /** What happened, in order: the windows' calls and the captures taken. */
  const events: string[] = []
  const errors: string[] = []
  const state = { pointer: LEFT, failNext: false }
  const windows: CaptureFlowWindows = {
    showQuick: (display) => events.push(`quick on ${display?.id ?? 'nowhere'}`),
    hideQuick: () => events.push('quick hidden'),
    openOverlay: (display) => events.push(`overlay on ${display.id} over ${capture.info()?.id}`),
    closeOverlay: () => events.push('overlay closed'),
  }
  const flow = createCaptureFlow({
    capture,
    windows,
    displayUnderCursor: () => state.pointer,
    captureDisplay: async (display) => {
      events.push(`capture of ${display.id}`)
      if (state.failNext) {
        state.failNext = false
        throw new Error('The screen could not be captured.')
      }
      return png(display.bounds.width, display.bounds.height)
    },
    captureWindow: async (_sourceId, display) => {
      events.push(`window capture at ${display.id}`)
      return png(800, 600)
    },
    onError: (message) => errors.push(message),
  })
  return { capture, flow, events, errors, state }
}

describe('capture flow', () => {
  it('the hotkey captures the display under the pointer and shows quick-ask there', async () => {
    const { capture, flow, events } = setup()
    expect(await flow.askAboutScreen()).toBe(true)
    expect(capture.info()).toMatchObject({ width: 1920, height: 1080, displayId: 1 })
    expect(events.at(-1)).toBe('quick on 1')
  })

  it("the tray's region after a failed capture says why and opens no overlay over the previous screenshot", async () => {
    const { capture, flow, events, errors, state } = setup()
    await flow.askAboutScreen()
    const before = capture.info()!.id
    state.failNext = true
    events.length = 0
    await flow.askAboutRegion()
    expect(errors).toEqual(['The screen could not be captured.'])
    expect(capture.info()!.id).toBe(before)
    expect(events.filter((e) => e.startsWith('overlay on'))).toEqual([])
  })

  it("the tray's region after a capture that worked covers that display with it", async () => {
    const { capture, flow, events } = setup()
    await flow.askAboutRegion()
    expect(events.at(-1)).toBe(`overlay on 1 over ${capture.info()!.id}`)
  })
})
