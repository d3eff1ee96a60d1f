// The composer's camera panel in Chromium's fake camera (a test pattern): it lets go of the
// camera however it is closed, says what went wrong in words, and works from the keyboard.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import { browserSkipReason, startHarness, type Harness } from './harness.js'

const skip = browserSkipReason()

// A camera starting, or a full-HD frame encoded, can take seconds on a busy machine.
const poll = <T>(read: () => T | Promise<T>) => expect.poll(read, { timeout: 10_000 })

/** What the test controls of the page's camera, set on window by installCamera. */
interface FakeCamera {
  /** Every track the page opened, to check each one is stopped. */
  tracks: MediaStreamTrack[]
  /** Every constraint the page asked with. */
  asked: MediaStreamConstraints[]
  /** How long a camera takes to start (a real one, or the system's prompt, takes a while). */
  delay: number
  /** The error the next start fails with (a DOMException's name), or null. */
  fail: string | null
  /** A second camera listed besides the fake one; choosing it starts the fake one. */
  second: boolean
}

/** The files the page showed by URL (the attachments' thumbnails): the page's policy lets it fetch none. */
type Shown = { __shown: Map<string, Blob> }

/** Wraps the page's camera so a test can slow it, fail it, list a second one and see its tracks, and keeps what it shows by URL. */
async function installCamera(page: Page): Promise<void> {
  await page.evaluate(() => {
    const camera: FakeCamera = { tracks: [], asked: [], delay: 0, fail: null, second: false }
    ;(window as unknown as { __camera: FakeCamera }).__camera = camera
    const devices = navigator.mediaDevices
    const getUserMedia = devices.getUserMedia.bind(devices)
    const enumerateDevices = devices.enumerateDevices.bind(devices)
    devices.getUserMedia = async (constraints) => {
      camera.asked.push(structuredClone(constraints ?? {}))
      await new Promise((r) => setTimeout(r, camera.delay))
      const fail = camera.fail
      if (fail === 'OverconstrainedError') throw new OverconstrainedError('deviceId', 'That camera is gone')
      if (fail) throw new DOMException(`${fail} from the test`, fail)
      // The second camera is a name only: Chromium has the one fake camera.
      const video = typeof constraints?.video === 'object' ? { ...constraints.video } : constraints?.video
      if (typeof video === 'object') delete video.deviceId
      const stream = await getUserMedia({ ...constraints, video })
      camera.tracks.push(...stream.getTracks())
      return stream
    }
    const shown = new Map<string, Blob>()
    ;(window as unknown as Shown).__shown = shown
    const createObjectURL = URL.createObjectURL.bind(URL)
    URL.createObjectURL = (object) => {
      const url = createObjectURL(object)
      if (object instanceof Blob) shown.set(url, object)
      return url
    }
    devices.enumerateDevices = async () => {
      const listed = await enumerateDevices()
      if (!camera.second) return listed
      const second = { deviceId: 'second-camera', groupId: 'second', kind: 'videoinput', label: 'Second camera' }
      return [...listed, { ...second, toJSON: () => second } as MediaDeviceInfo]
    }
  })
}

describe.skipIf(skip !== null)('camera panel in Chromium', () => {
  let h: Harness
  let page: Page

  beforeAll(async () => {
    h = await startHarness()
    page = await h.openApp()
    await installCamera(page)
  })
  afterAll(async () => h?.close())

  const trackStates = (): Promise<string[]> =>
    page.evaluate(() => (window as unknown as { __camera: FakeCamera }).__camera.tracks.map((t) => t.readyState))
  const setCamera = (values: Partial<FakeCamera>): Promise<void> =>
    page.evaluate((v) => void Object.assign((window as unknown as { __camera: FakeCamera }).__camera, v), values)
  const toggle = () => page.getByRole('button', { name: 'Take a camera frame' })
  const panel = () => page.getByRole('dialog', { name: 'Camera' })
  const preview = () => page.getByTestId('camera-preview')
  const takeFrame = () => panel().getByRole('button', { name: 'Take frame' })
  const thumbnails = () => page.getByRole('list', { name: 'Attached images' }).locator('img')
  const focused = (): Promise<string | null> =>
    page.evaluate(() => {
      const here = document.activeElement
      if (!here || here === document.body) return null
      return here.getAttribute('aria-label') ?? here.textContent?.trim() ?? here.tagName
    })
  const alerts = () => panel().getByRole('alert').allTextContents()
  const showing = (): Promise<boolean> => preview().evaluate((v: HTMLVideoElement) => v.readyState >= 2 && v.videoWidth > 0)

  // Each test starts with the panel closed and no camera on, whatever the one before left.
  afterEach(async () => {
    if ((await panel().count()) > 0) await toggle().click()
    await page.evaluate(() => (window as unknown as { __camera: FakeCamera }).__camera.tracks.forEach((t) => t.stop()))
    await setCamera({ tracks: [], asked: [], delay: 0, fail: null, second: false })
  })

  it('lets go of a camera still starting when the panel is closed', async () => {
    await setCamera({ delay: 800 })
    await toggle().click()
    await poll(() => panel().count()).toBe(1)
    // Closed again before the camera has started.
    await toggle().click()
    expect(await panel().count()).toBe(0)
    await poll(() => trackStates().then((s) => s.length)).toBe(1)
    await poll(trackStates).toEqual(['ended'])
  })

  it('lets go of a camera still starting when another is chosen', async () => {
    await setCamera({ second: true })
    await toggle().click()
    await poll(showing).toBe(true)
    const choose = panel().getByRole('combobox', { name: 'Camera' })
    await setCamera({ delay: 800 })
    // The second camera chosen, and the first chosen back before the second has started.
    await choose.selectOption({ label: 'Second camera' })
    await choose.selectOption({ index: 0 })
    await poll(() => trackStates().then((s) => s.length)).toBe(3)
    await poll(showing).toBe(true)
    await poll(trackStates).toEqual(['ended', 'ended', 'live'])
    await panel().getByRole('button', { name: 'Close' }).click()
    await poll(trackStates).toEqual(['ended', 'ended', 'ended'])
  })

  it('says a camera unplugged while showing is disconnected, takes no black frame from it, and tries again', async () => {
    const before = await thumbnails().count()
    await toggle().click()
    await poll(showing).toBe(true)
    await poll(() => takeFrame().isEnabled()).toBe(true)
    // Unplugged: the track ends on its own, and says so.
    await preview().evaluate((v: HTMLVideoElement) => {
      const track = (v.srcObject as MediaStream).getVideoTracks()[0]!
      track.stop()
      track.dispatchEvent(new Event('ended'))
    })
    await poll(alerts).toEqual(['The camera was disconnected.'])
    expect(await takeFrame().isDisabled()).toBe(true)
    // Plugged back in.
    await panel().getByRole('button', { name: 'Try again' }).click()
    await poll(showing).toBe(true)
    await poll(() => takeFrame().isEnabled()).toBe(true)
    expect(await alerts()).toEqual([])
    // A track that ends without saying so is found out when a frame is taken from it.
    await preview().evaluate((v: HTMLVideoElement) => (v.srcObject as MediaStream).getVideoTracks()[0]!.stop())
    await takeFrame().click()
    await poll(alerts).toEqual(['The camera was disconnected.'])
    expect(await thumbnails().count()).toBe(before)
  })

  it('takes a full-HD frame from a camera that gives one, as a JPEG', async () => {
    const before = await thumbnails().count()
    await toggle().click()
    await poll(showing).toBe(true)
    await takeFrame().click()
    await poll(() => thumbnails().count()).toBe(before + 1)
    const frame = thumbnails().last()
    const taken = await frame.evaluate(async (img: HTMLImageElement) => {
      await img.decode()
      const blob = (window as unknown as Shown).__shown.get(img.src)!
      const head = [...new Uint8Array(await blob.slice(0, 3).arrayBuffer())]
      return { width: img.naturalWidth, height: img.naturalHeight, type: blob.type, head }
    })
    // Chromium's fake camera gives up to 4K; asked for nothing, it gives 640 × 480.
    expect(taken).toEqual({ width: 1920, height: 1080, type: 'image/jpeg', head: [0xff, 0xd8, 0xff] })
    expect(await frame.getAttribute('alt')).toBe('camera-frame.jpg')
    await page.getByRole('button', { name: 'Remove camera-frame.jpg' }).click()
  })

  it('works from the keyboard: Take frame has the focus once the camera shows, Esc closes, the focus goes back to the toggle', async () => {
    const before = await thumbnails().count()
    const open = async (): Promise<void> => {
      await toggle().focus()
      await page.keyboard.press('Enter')
      await poll(showing).toBe(true)
      await poll(focused).toBe('Take frame')
    }
    await open()
    await page.keyboard.press('Escape')
    await poll(() => panel().count()).toBe(0)
    expect(await focused()).toBe('Take a camera frame')
    expect(await trackStates()).toEqual(['ended'])

    await open()
    await page.keyboard.press('Tab')
    expect(await focused()).toBe('Close')
    await page.keyboard.press('Enter')
    await poll(() => panel().count()).toBe(0)
    expect(await focused()).toBe('Take a camera frame')

    await open()
    await page.keyboard.press('Enter')
    await poll(() => thumbnails().count()).toBe(before + 1)
    expect(await panel().count()).toBe(0)
    expect(await focused()).toBe('Take a camera frame')
    expect(await trackStates()).toEqual(['ended', 'ended', 'ended'])
    await page.getByRole('button', { name: 'Remove camera-frame.jpg' }).click()
  })

  it('says in words why the camera did not start, with Try again', async () => {
    const failsWith = async (fail: string, said: string): Promise<void> => {
      await setCamera({ fail })
      await toggle().focus()
      await page.keyboard.press('Enter')
      await poll(alerts).toEqual([said])
      // The way on, for the keyboard too.
      await poll(focused).toBe('Try again')
      await toggle().click()
    }
    await failsWith('NotReadableError', 'The camera is in use by another app.')
    await failsWith('NotAllowedError', 'Camera access was refused. Allow it in your system settings, then try again.')
    await failsWith('NotFoundError', 'No camera was found.')

    // The camera chosen in the list has gone since it was listed.
    await setCamera({ fail: null, second: true })
    await toggle().click()
    await poll(showing).toBe(true)
    for (const fail of ['OverconstrainedError', 'NotFoundError']) {
      await setCamera({ fail })
      await panel().getByRole('combobox', { name: 'Camera' }).selectOption({ label: 'Second camera' })
      await poll(alerts).toEqual(['That camera is no longer connected.'])
    }
    // Try again takes a camera that is there.
    await setCamera({ fail: null })
    await panel().getByRole('button', { name: 'Try again' }).click()
    await poll(showing).toBe(true)
    expect(await alerts()).toEqual([])
    await poll(() => takeFrame().isEnabled()).toBe(true)
  })
})
