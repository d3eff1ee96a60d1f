// Plain words for long prompts on the generated fixtures, shared by the tests and benches that
// need a conversation of a given length.

/** Words the fixture's vocabulary splits into about three tokens each. */
export const FILLER_WORDS = 'the red square sits on a plain grey field with nothing else in view at all today'.split(' ')

/** The first `count` filler words, the list repeated as needed. */
export const fillerText = (count: number): string =>
  Array.from({ length: count }, (_, i) => FILLER_WORDS[i % FILLER_WORDS.length]).join(' ')
