import { describe, expect, it } from '@jest/globals'
import { ActionError } from '../../src/domain/errors.js'
import {
  repositoryFromFunctions,
  type RunningImage
} from '../../src/domain/repository-from-functions.js'

const REPO = '111111111111.dkr.ecr.us-east-1.amazonaws.com/app'
const DIGEST = `sha256:${'a'.repeat(64)}`

function refusal(functions: RunningImage[]): ActionError {
  try {
    repositoryFromFunctions('us-east-1', functions)
  } catch (error) {
    if (error instanceof ActionError) return error
    throw error
  }
  throw new Error('no error')
}

describe('repositoryFromFunctions', () => {
  it('takes the one repository the functions run from, by digest or by tag', () => {
    const derived = repositoryFromFunctions('us-east-1', [
      { functionName: 'a', imageUri: `${REPO}@${DIGEST}` },
      { functionName: 'b', imageUri: `${REPO}:v1` }
    ])
    expect(derived.location).toMatchObject({
      uri: REPO,
      account: '111111111111',
      region: 'us-east-1',
      name: 'app'
    })
    expect(derived.functions).toEqual(['a', 'b'])
  })

  it('refuses functions that run images from two repositories, naming both', () => {
    const error = refusal([
      { functionName: 'a', imageUri: `${REPO}@${DIGEST}` },
      { functionName: 'b', imageUri: `${REPO}-other@${DIGEST}` }
    ])
    expect(error.id).toBe('repository-not-derivable')
    expect(error.message).toContain(`${REPO}: a`)
    expect(error.message).toContain(`${REPO}-other: b`)
    expect(error.fix).toContain('Set repository')
  })

  it('refuses a function that runs no image yet', () => {
    const error = refusal([{ functionName: 'new-fn', imageUri: '' }])
    expect(error.id).toBe('repository-not-derivable')
    expect(error.message).toContain('new-fn runs no image yet')
  })

  it('sends a function still to be created where the existing ones run from', () => {
    const derived = repositoryFromFunctions('us-east-1', [
      { functionName: 'new-fn', imageUri: '', creating: true },
      { functionName: 'a', imageUri: `${REPO}@${DIGEST}` }
    ])
    expect(derived.location.uri).toBe(REPO)
    expect(derived.functions).toEqual(['a'])
  })

  it('refuses when every function is still to be created', () => {
    const error = refusal([{ functionName: 'new-fn', imageUri: '', creating: true }])
    expect(error.id).toBe('repository-not-derivable')
    expect(error.message).toContain('new-fn does not exist yet')
  })

  it('refuses an image from another region', () => {
    const error = refusal([
      {
        functionName: 'a',
        imageUri: `111111111111.dkr.ecr.eu-west-1.amazonaws.com/app@${DIGEST}`
      }
    ])
    expect(error.message).toContain('in eu-west-1')
    expect(error.fix).toContain('us-east-1')
  })

  it('refuses an image outside private ECR', () => {
    const error = refusal([{ functionName: 'a', imageUri: 'public.ecr.aws/lambda/nodejs:20' }])
    expect(error.message).toContain('not an image in a private ECR repository')
  })
})
