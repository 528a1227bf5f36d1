import { describe, expect, it } from '@jest/globals'
import { verifyManifest } from '../../src/steps/push-image.js'

const CONFIG = `sha256:${'c'.repeat(64)}`
const DIGEST = `sha256:${'d'.repeat(64)}`
const manifest = JSON.stringify({ schemaVersion: 2, config: { digest: CONFIG }, layers: [] })

describe('verifyManifest', () => {
  it('accepts a Docker v2 or OCI manifest whose config is the checked image', () => {
    for (const type of [
      'application/vnd.docker.distribution.manifest.v2+json',
      'application/vnd.oci.image.manifest.v1+json'
    ]) {
      expect(() => verifyManifest(type, manifest, CONFIG, DIGEST)).not.toThrow()
    }
  })

  it('refuses a manifest digest in place of the config digest the build reported', () => {
    expect(() =>
      verifyManifest('application/vnd.oci.image.manifest.v1+json', manifest, DIGEST, DIGEST)
    ).toThrow(/not the image that was built/)
  })

  it.each([
    'application/vnd.oci.image.index.v1+json',
    'application/vnd.docker.distribution.manifest.list.v2+json'
  ])('refuses %s, which Lambda rejects', type => {
    expect(() => verifyManifest(type, manifest, CONFIG, DIGEST)).toThrow(/single-platform/)
  })

  it('refuses a manifest that points at another image than the one checked', () => {
    expect(() =>
      verifyManifest(
        'application/vnd.oci.image.manifest.v1+json',
        manifest,
        `sha256:${'e'.repeat(64)}`,
        DIGEST
      )
    ).toThrow(/not the image that was built/)
  })
})
