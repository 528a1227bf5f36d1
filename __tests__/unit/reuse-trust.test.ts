import { describe, expect, it } from '@jest/globals'
import { inputsLabelMismatch } from '../../src/domain/reuse-trust.js'

const LABEL = 'io.github.lambda-image-deploy.inputs-digest'
const INPUTS = `sha256:${'e'.repeat(64)}`

describe('inputsLabelMismatch', () => {
  it('trusts an image whose inputs label is the fingerprint', () => {
    expect(inputsLabelMismatch({ [LABEL]: INPUTS, other: 'x' }, INPUTS)).toBeUndefined()
  })

  it.each<[string, Record<string, string>, string]>([
    ['no labels at all', {}, 'carries no'],
    ['only other labels', { 'org.opencontainers.image.revision': 'abc' }, 'carries no'],
    ['the digest of other inputs', { [LABEL]: `sha256:${'0'.repeat(64)}` }, `not ${INPUTS}`],
    ['an empty label', { [LABEL]: '' }, '(empty)'],
    ['the digest without its algorithm', { [LABEL]: 'e'.repeat(64) }, `not ${INPUTS}`],
    ['the digest in upper case', { [LABEL]: INPUTS.toUpperCase() }, `not ${INPUTS}`]
  ])('refuses an image with %s', (_case, labels, says) => {
    expect(inputsLabelMismatch(labels, INPUTS)).toContain(says)
  })
})
