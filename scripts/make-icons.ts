// Renders the committed PNG icons from resources/*.svg (run after editing the SVGs).
import sharp from 'sharp'

const dir = new URL('../resources/', import.meta.url)
const render = (svg: string, size: number, out: string): Promise<unknown> =>
  sharp(new URL(svg, dir).pathname, { density: 384 }).resize(size, size).png().toFile(new URL(out, dir).pathname)

await render('icon.svg', 512, 'icon.png')
await render('icon.svg', 1024, 'icon@2x.png')
// macOS tray "template" images: black with alpha, the OS tints them.
await render('tray.svg', 16, 'trayTemplate.png')
await render('tray.svg', 32, 'trayTemplate@2x.png')
