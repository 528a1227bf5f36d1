import * as core from '@actions/core'
import type { DockerEngine, InspectedImage } from '../adapters/docker.js'
import {
  checkImage,
  checkSizeMeasured,
  describeImageSize,
  type Finding
} from '../domain/image-checks.js'
import { checkEntrypointFile, type ImageFileReader } from '../domain/image-files.js'
import type { LambdaArchitecture } from '../domain/lambda-limits.js'
import {
  checkRuntimeClient,
  RUNTIME_CLIENT_PROBES,
  TaskPathSample
} from '../domain/runtime-client.js'
import { TaskFilesAudit, type ImageTreeWalker } from '../domain/task-files.js'

export interface ImageExpectations {
  readonly architecture: LambdaArchitecture
  readonly maxImageBytes: number
  /** From the Dockerfile analysis: built FROM an AWS Lambda base image; undefined when unknown. */
  readonly awsBaseImage?: boolean
  /** ImageConfig EntryPoint overrides that functions will run the image with. */
  readonly entrypointOverrides?: readonly {
    readonly function: string
    readonly entryPoint: readonly string[]
  }[]
}

/**
 * Lambda's requirements, checked on the local image (its config and its files) before anything
 * is pushed. Nothing in the image is run: files are read through `docker cp`.
 */
export async function checkBuiltImage(
  image: InspectedImage,
  expected: ImageExpectations,
  docker: DockerEngine
): Promise<Finding[]> {
  core.info(`Image size: ${describeImageSize(image, expected.maxImageBytes)}`)
  const configFindings = checkImage(image, expected)
  const unmeasured = checkSizeMeasured(image, expected.maxImageBytes)
  if (unmeasured) configFindings.push(unmeasured)
  // A non-Linux image has no Linux programs to look at; its config finding says it all.
  if (configFindings.some(finding => finding.id === 'image-not-linux')) return configFindings

  const fileFindings = await docker.withImageFiles(image.id, async (read, walk) => {
    // The entrypoints are read while the task roots stream: a big tree is then the only wait.
    const [findings, tree] = await Promise.all([
      entrypointFindings(image, expected, read),
      walkTaskRoots(taskRoots(image), walk)
    ])
    if (tree.unreadable) findings.push(tree.unreadable)
    const runtimeClientFacts = {
      awsBaseImage: expected.awsBaseImage,
      entrypoint: image.entrypoint,
      cmd: image.cmd,
      taskPaths: tree.taskPaths,
      existing: [] as string[]
    }
    // The image config and the task root settle it for most images (AWS bases first of all);
    // only then are the well-known paths looked for, all at once.
    if (checkRuntimeClient(runtimeClientFacts)) {
      const found = await Promise.all(
        RUNTIME_CLIENT_PROBES.map(async probe =>
          (await read(probe)).kind === 'missing' ? [] : [probe]
        )
      )
      const runtimeClient = checkRuntimeClient({ ...runtimeClientFacts, existing: found.flat() })
      if (runtimeClient) findings.push(runtimeClient)
    }
    return findings
  })
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

/** The image's ENTRYPOINT, then each function-config entrypoint override. */
async function entrypointFindings(
  image: InspectedImage,
  expected: ImageExpectations,
  read: ImageFileReader
): Promise<Finding[]> {
  const findings = await checkEntrypointFile(image.entrypoint, expected.architecture, read)
  for (const override of expected.entrypointOverrides ?? []) {
    const found = await checkEntrypointFile(override.entryPoint, expected.architecture, read)
    findings.push(
      ...found.map(finding => ({
        ...finding,
        id: `override-${finding.id}`,
        message: `function-config for ${override.function}: ${finding.message.replace(/^ENTRYPOINT/, 'its entrypoint')}`
      }))
    )
  }
  return findings
}

/**
 * One pass over each task root, however many entries it has; each check keeps only what its
 * finding needs (a few paths and a count), never the listing.
 */
async function walkTaskRoots(
  roots: readonly string[],
  walk: ImageTreeWalker
): Promise<{ unreadable: Finding | undefined; taskPaths: string[] }> {
  const audit = new TaskFilesAudit(roots)
  const taskPaths = new TaskPathSample()
  await Promise.all(
    roots.map(async root => {
      const walked = await walk(root, entry => {
        audit.visit(entry)
        taskPaths.add(entry.path)
      })
      audit.walked(root, walked)
    })
  )
  return { unreadable: audit.finding(), taskPaths: taskPaths.paths }
}

/** The directories whose files the function reads: LAMBDA_TASK_ROOT and WORKDIR. */
function taskRoots(image: InspectedImage): string[] {
  const taskRoot = image.env
    .find(variable => variable.startsWith('LAMBDA_TASK_ROOT='))
    ?.slice('LAMBDA_TASK_ROOT='.length)
  const roots = [taskRoot || '/var/task']
  const workDir = image.workingDir.replace(/\/+$/, '')
  // The root directory or a system directory as WORKDIR would list the whole image.
  if (
    workDir.startsWith('/') &&
    workDir !== '' &&
    !['/', '/usr', '/bin', '/etc', '/opt', '/tmp'].includes(workDir) &&
    !roots.some(root => workDir === root || workDir.startsWith(`${root}/`))
  ) {
    roots.push(workDir)
  }
  return roots
}
