// The hotkey, tray and quick-ask actions on the capture windows, with Electron replaced by
// recorders: which window opens where, over which image, and in what order.
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import { describe, expect, it, vi } from 'vitest'
import { createCaptureFlow, followTrayMenu, type CaptureFlowWindows, type TrayMenuItem } from '../../electron/capture/capture-flow.js'
import { openHotkeySettings } from '../../electron/capture/hotkey-settings.js'
import { CaptureService } from '../../electron/capture/capture-service.js'
import type { DisplayInfo } from '../../electron/capture/region.js'

const LEFT: DisplayInfo = { id: 1, bounds: { x: 0, y: 0, width: 1920, height: 1080 }, scaleFactor: 1 }
const RIGHT: DisplayInfo = { id: 2, bounds: { x: 1920, y: 0, width: 2560, height: 1440 }, scaleFactor: 2 }

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

  it('a second press while the first capture runs joins it: one screenshot, quick-ask shown once, over no window of ours', async () => {
    const { capture, flow, events } = setup()
    await flow.askAboutScreen()
    events.length = 0
    // Quick-ask is on screen, so the first press waits for it to leave; the second comes meanwhile.
    const first = flow.askAboutScreen()
    const second = flow.askAboutScreen()
    expect(await Promise.all([first, second])).toEqual([true, true])
    expect(events).toEqual(['quick hidden', 'settled', 'capture of 1', 'quick on 1'])
    const id = capture.info()!.id
    // Once it is done, the next press is a new screenshot.
    await flow.askAboutScreen()
    expect(capture.info()!.id).not.toBe(id)
  })

  it("the tray's region during the hotkey's capture opens its overlay over that capture", async () => {
    const { capture, flow, events } = setup()
    const hotkey = flow.askAboutScreen()
    await flow.askAboutRegion()
    await hotkey
    expect(events.filter((e) => e.startsWith('capture of'))).toHaveLength(1)
    expect(events.at(-1)).toBe(`overlay on 1 over ${capture.info()!.id}`)
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

  it('an image handed over by a second launch, before any hotkey, is shown and Select region covers its display', async () => {
    const { capture, flow, events, state } = setup()
    state.pointer = RIGHT
    await flow.showImage(await png(1000, 500))
    const info = capture.info()!
    expect(info).toMatchObject({ width: 1000, height: 500, displayId: 2 })
    flow.startRegion()
    expect(events).toEqual(['overlay closed', 'quick on 2', 'quick hidden', `overlay on 2 over ${info.id}`])
  })

  it('an image handed over on another display than the last hotkey: quick-ask, the overlay and the crop all use its display', async () => {
    const { capture, flow, events, state } = setup()
    await flow.askAboutScreen()
    state.pointer = RIGHT
    events.length = 0
    await flow.showImage(await png(1000, 500))
    const info = capture.info()!
    flow.startRegion()
    expect(events.filter((e) => !e.includes('hidden') && !e.includes('closed'))).toEqual(['quick on 2', `overlay on 2 over ${info.id}`])
    // A drag over the whole overlay (its CSS pixels) takes the whole image.
    const cut = await capture.crop(info.id, { x1: 0, y1: 0, x2: 2560, y2: 1440 })
    expect(cut).toMatchObject({ width: 1000, height: 500 })
    flow.regionFinished(true)
    expect(events.at(-1)).toBe('quick on 2')
  })

  it('a chosen window is captured at the resolution of the display the image in hand came from', async () => {
    const { capture, flow, events, state } = setup()
    state.pointer = RIGHT
    await flow.showImage(await png(1000, 500))
    state.pointer = LEFT
    await flow.captureWindow('window:1:0')
    expect(events.at(-1)).toBe('window capture at 2')
    expect(capture.display()).toEqual(RIGHT)
  })
})

describe('tray menu', () => {
  const labels = (items: TrayMenuItem[]): string[] => items.map((i) => ('label' in i ? i.label : 'type' in i ? '---' : i.role))

  it('names the shortcut in force, and follows it when Settings changes it', async () => {
    const { flow, events } = setup()
    const hotkey = await openHotkeySettings({ path: join(await mkdtemp(join(tmpdir(), 'lva-tray-')), 'hotkey.json'), platform: 'linux' })
    const held = new Set<string>()
    hotkey.start(
      {
        // Another application holds Control+Alt+P.
        register: (a) => a !== 'Control+Alt+P' && !held.has(a) && Boolean(held.add(a)),
        unregister: (a) => void held.delete(a),
      },
      () => undefined,
    )
    const shown: string[][] = []
    let chats = 0
    const stop = followTrayMenu(
      flow,
      hotkey,
      () => chats++,
      (items) => shown.push(labels(items)),
    )
    expect(shown).toEqual([['Ask about the screen (Control+Shift+Space)', 'Ask about a region…', 'Open chat', '---', 'quit']])

    await hotkey.set({ accelerator: 'Alt+Shift+S' })
    expect(shown.at(-1)![0]).toBe('Ask about the screen (Alt+Shift+S)')
    // Refused: the menu still names the one in force.
    await hotkey.set({ accelerator: 'Control+Alt+P' })
    expect(shown.at(-1)![0]).toBe('Ask about the screen (Alt+Shift+S)')
    await hotkey.set({ accelerator: null })
    expect(shown.at(-1)![0]).toBe('Ask about the screen')

    stop()
    const count = shown.length
    await hotkey.set({ accelerator: 'default' })
    expect(shown.length).toBe(count)

    // The items act on the flow.
    let menu: TrayMenuItem[] = []
    followTrayMenu(
      flow,
      hotkey,
      () => chats++,
      (items) => (menu = items),
    )
    const click = (label: string): void => {
      const item = menu.find((i) => 'label' in i && i.label.startsWith(label))
      if (item && 'click' in item) item.click()
    }
    click('Open chat')
    expect(chats).toBe(1)
    // The screen, then the region (a screenshot first): two captures, and the overlay over the second.
    click('Ask about the screen')
    await vi.waitFor(() => expect(events.filter((e) => e.startsWith('quick on'))).toHaveLength(1), { timeout: 10_000 })
    click('Ask about a region')
    await vi.waitFor(() => expect(events.filter((e) => e.startsWith('overlay on'))).toHaveLength(1), { timeout: 10_000 })
    expect(events.filter((e) => e.startsWith('capture of'))).toEqual(['capture of 1', 'capture of 1'])
  })
})
