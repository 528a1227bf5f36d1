import { createDockerEngine } from '../../src/adapters/docker.js'
import { MAX_UNCOMPRESSED_IMAGE_BYTES } from '../../src/domain/lambda-limits.js'
import { checkBuiltImage } from '../../src/steps/check-image.js'

/**
 * The process the scaling bench (scripts/bench-scale.ts) measures: the action's check phase,
 * `checkBuiltImage` exactly as main.ts calls it for an image built FROM an AWS base image, on
 * one local image. The bench bundles this file with ncc, as dist/ is bundled, and runs it with
 * node. Prints one JSON line: the phase's time, the process's peak memory and the findings.
 */
const image = process.argv[2]
if (!image) throw new Error('usage: scale-check IMAGE')
const docker = createDockerEngine()
const inspected = await docker.inspectImage(image)
const started = performance.now()
const findings = await checkBuiltImage(
  inspected,
  { architecture: 'x86_64', maxImageBytes: MAX_UNCOMPRESSED_IMAGE_BYTES, awsBaseImage: true },
  docker
)
const checkMs = performance.now() - started
// ru_maxrss: the largest resident set this process had, in KiB on Linux.
const usage = process.resourceUsage()
const maxRssBytes = usage.maxRSS * 1024
// CPU time of this process (user + system, from start-up): what the check itself costs, apart
// from waiting for docker.
const cpuMs = (usage.userCPUTime + usage.systemCPUTime) / 1000
console.log(JSON.stringify({ checkMs, maxRssBytes, cpuMs, findings }))
