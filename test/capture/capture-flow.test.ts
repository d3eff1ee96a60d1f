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
  const state = { pointer: LEFT, failNext: false, quick: false, overlay: false }
  const windows: CaptureFlowWindows = {
    hideAll: () => {
      const shown = state.quick || state.overlay
      if (state.quick) events.push('quick hidden')
      if (state.overlay) events.push('overlay closed')
      state.quick = state.overlay = false
      return shown
    },
    showQuick: (display) => {
      state.quick = true
      events.push(`quick on ${display?.id ?? 'nowhere'}`)
    },
    hideQuick: () => {
      state.quick = false
      events.push('quick hidden')
    },
    openOverlay: (display) => {
      state.overlay = true
      events.push(`overlay on ${display.id} over ${capture.info()?.id}`)
    },
    closeOverlay: () => {
      state.overlay = false
      events.push('overlay closed')
    },
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
    settle: async () => void events.push('settled'),
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

  it('the hotkey with nothing of ours on screen captures at once', async () => {
    const { flow, events } = setup()
    await flow.askAboutScreen()
    expect(events).toEqual(['capture of 1', 'quick on 1'])
  })

  it('the hotkey while the region overlay is open closes it, and captures only once it has left the screen', async () => {
    const { capture, flow, events, state } = setup()
    await flow.askAboutScreen()
    flow.startRegion()
    events.length = 0
    await flow.askAboutScreen()
    expect(events).toEqual(['overlay closed', 'settled', 'capture of 1', 'quick on 1'])
    // No overlay is left open over the screenshot it was given, which is no longer in hand.
    expect(state.overlay).toBe(false)
    expect(capture.info()).not.toBeNull()
  })

  it('the hotkey while quick-ask shows hides it before capturing', async () => {
    const { flow, events } = setup()
    await flow.askAboutScreen()
    events.length = 0
    await flow.askAboutScreen()
    expect(events).toEqual(['quick hidden', 'settled', 'capture of 1', 'quick on 1'])
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
