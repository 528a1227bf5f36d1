import type { DockerEngine, InspectedImage } from '../adapters/docker.js'
import { checkImage, type Finding } from '../domain/image-checks.js'
import { checkEntrypointFile } from '../domain/image-files.js'
import type { LambdaArchitecture } from '../domain/lambda-limits.js'

/** Lambda's requirements, checked on the local image (config and files) before anything is pushed. */
export async function checkBuiltImage(
  image: InspectedImage,
  expected: { readonly architecture: LambdaArchitecture; readonly maxImageBytes: number },
  docker: DockerEngine
): Promise<Finding[]> {
  const configFindings = checkImage(image, expected)
  // A non-Linux image has no Linux programs to look at; its config finding says it all.
  if (configFindings.some(finding => finding.id === 'image-not-linux')) return configFindings
  const fileFindings = await docker.withImageFiles(image.id, read =>
    checkEntrypointFile(image.entrypoint, expected.architecture, read)
  )
  const configSaysWrongArchitecture = configFindings.some(
    finding => finding.id === 'image-architecture-mismatch'
  )
  // The config finding already says it; the file finding would only repeat it.
  return [
    ...configFindings,
    ...fileFindings.filter(
      finding => !(configSaysWrongArchitecture && finding.id === 'entrypoint-wrong-architecture')
    )
  ]
}
