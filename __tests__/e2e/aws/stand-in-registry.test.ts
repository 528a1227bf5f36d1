import { beforeAll, describe, expect, it } from '@jest/globals'
import { BatchGetImageCommand, DescribeImagesCommand } from '@aws-sdk/client-ecr'
import { UpdateFunctionCodeCommand } from '@aws-sdk/client-lambda'
import { RegistryClient } from '../../../stack/stand-in/registry-client.js'
import { registryEndpoint, topology } from '../../../stack/stand-in/topology.js'
import {
  DEFAULT_REGION,
  TOOLING_ACCOUNT,
  fixtureImage,
  registryHost,
  useSandbox
} from '../harness.js'

/**
 * What the stand-in's ECR and Lambda refuse, on images in the real registry stack/setup.sh runs:
 * an image index, a tag nobody pushed, an image in another region than the function. The image
 * is a fixture copied registry-side, so no image store is involved; how images pushed with
 * docker are seen is in engine/stand-in-registry.test.ts.
 */

const TOOLING = TOOLING_ACCOUNT
const REGION = DEFAULT_REGION
const OTHER_REGION = 'eu-west-1'
const SINGLE_IMAGE_TYPES = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.oci.image.manifest.v1+json'
]
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json'

const host = (region: string) => registryHost(TOOLING, region)
// Lambda may pull only what the repository policy lets it, in its own account too.
const LAMBDA_PULLS = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Principal: { Service: 'lambda.amazonaws.com' },
      Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer']
    }
  ]
})

const sandbox = useSandbox()
let name = ''
/** The image's digest in the other region's registry. */
let otherRegionDigest = ''

beforeAll(async () => {
  const image = await fixtureImage({ fixture: 'provided-multistage', target: 'runtime' })
  const seeded = await sandbox.seed({ label: 'stand-in-refuses', policy: LAMBDA_PULLS })
  name = seeded.name
  await sandbox.copyImage(image, seeded.repository, 'v1')
  await sandbox.control.createRepository({
    account: TOOLING,
    region: OTHER_REGION,
    name,
    policy: LAMBDA_PULLS
  })
  const copied = await sandbox.copyImage(image, `${host(OTHER_REGION)}/${name}`, 'v1')
  otherRegionDigest = copied.slice(copied.indexOf('@') + 1)
})

/** Lambda refuses to point the function at `uri`, with InvalidParameterValueException. */
async function expectUpdateRefused(uri: string, message: string): Promise<void> {
  await expect(
    sandbox
      .clients()
      .lambda.send(new UpdateFunctionCodeCommand({ FunctionName: name, ImageUri: uri }))
  ).rejects.toMatchObject({ name: 'InvalidParameterValueException', message })
}

describe('what ECR and Lambda refuse', () => {
  it('refuses an image index, in BatchGetImage and in UpdateFunctionCode', async () => {
    const manifest = await sandbox.control.registryManifest(TOOLING, REGION, name, 'v1')
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [
        {
          mediaType: manifest.mediaType,
          digest: manifest.digest,
          size: Buffer.byteLength(manifest.body),
          platform: { architecture: manifest.config.architecture, os: 'linux' }
        }
      ]
    })
    const registry = new RegistryClient(topology.stateDir)
    await registry.putManifest(registryEndpoint(TOOLING, REGION)!, name, 'multi', OCI_INDEX, index)

    const answer = await sandbox.clients().ecr.send(
      new BatchGetImageCommand({
        repositoryName: name,
        imageIds: [{ imageTag: 'multi' }],
        acceptedMediaTypes: SINGLE_IMAGE_TYPES
      })
    )
    expect(answer.failures?.[0]?.failureCode).toBe('UnsupportedImageType')
    const uri = `${host(REGION)}/${name}:multi`
    await expectUpdateRefused(
      uri,
      `The image manifest, config or layer media type for the source image ${uri} is not supported.`
    )
  })

  it('reports a tag nobody pushed as missing', async () => {
    const answer = await sandbox
      .clients()
      .ecr.send(
        new BatchGetImageCommand({ repositoryName: name, imageIds: [{ imageTag: 'never-pushed' }] })
      )
    expect(answer.failures?.[0]?.failureCode).toBe('ImageNotFound')
    await expect(
      sandbox.clients().ecr.send(
        new DescribeImagesCommand({
          repositoryName: name,
          imageIds: [{ imageTag: 'never-pushed' }]
        })
      )
    ).rejects.toMatchObject({ name: 'ImageNotFoundException' })
    const uri = `${host(REGION)}/${name}:never-pushed`
    await expectUpdateRefused(
      uri,
      `Source image ${uri} does not exist. Provide a valid source image.`
    )
  })

  it('refuses an image that exists, but in another region than the function', async () => {
    const uri = `${host(OTHER_REGION)}/${name}@${otherRegionDigest}`
    const inOtherRegion = await sandbox.clients(TOOLING, OTHER_REGION).ecr.send(
      new BatchGetImageCommand({
        repositoryName: name,
        imageIds: [{ imageDigest: otherRegionDigest }]
      })
    )
    expect(inOtherRegion.images).toHaveLength(1)
    await expectUpdateRefused(
      uri,
      `Source image ${uri} is not valid. Provide a valid source image.`
    )
  })
})
