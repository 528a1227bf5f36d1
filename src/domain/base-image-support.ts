import {
  AMAZON_LINUX_END_OF_LIFE,
  LAMBDA_BASE_IMAGES,
  LAMBDA_RUNTIMES_PAGE,
  type LambdaBaseImage
} from '../data/lambda-base-images.js'
import { DOCKER_HUB, type ImageName } from './image-name.js'

/**
 * Whether the AWS Lambda base image a Dockerfile builds FROM is still supported on a given day,
 * and what to move to. Pure: the table is src/data/lambda-base-images.ts, the day is the caller's.
 */

/** How long before the end of support a run says so (a notice, not yet a warning). */
export const END_OF_SUPPORT_NOTICE_DAYS = 90

export type BaseImageSupportStatus =
  /** Supported, and not within END_OF_SUPPORT_NOTICE_DAYS of its end. */
  | 'supported'
  /** Supported, but its Amazon Linux release has reached its end of life. */
  | 'os-end-of-life'
  /** Its end of support is at most END_OF_SUPPORT_NOTICE_DAYS away. */
  | 'ending-soon'
  /** Past its end of support: AWS no longer patches it. */
  | 'ended'

export interface BaseImageSupport {
  /** The base image as the Dockerfile names it (after ARG substitution). */
  readonly image: string
  readonly base: LambdaBaseImage
  readonly status: BaseImageSupportStatus
  /** Days from the run's day to the end of support; negative once past it. */
  readonly daysLeft: number
  /** The base to move to, named the way the Dockerfile names its base (registry, arch suffix). */
  readonly successor?: { readonly image: string; readonly base: LambdaBaseImage }
  /** One sentence for the log and the job summary. */
  readonly message: string
}

const PUBLIC_GALLERY = 'public.ecr.aws'
const GALLERY_PREFIX = 'lambda/'
const DOCKER_HUB_PREFIX = 'amazon/aws-lambda-'
// After the runtime's tag: an optional build date (3.12.2025.01.01 or 3.12.2025.01.01.12), then an
// optional architecture (3.12-arm64, al2.2025.01.01.12-x86_64), as the gallery tags its images.
const TAG_SUFFIX = /^(?<date>\.\d{4}\.\d{2}\.\d{2}(?:\.\d{1,2})?)?(?<arch>-(?:arm64|x86_64))?$/

const DAY_MS = 24 * 60 * 60 * 1000

/**
 * The support of `reference` on `today` (its UTC day), or undefined when it is not an AWS Lambda
 * base image named by a tag this table knows: another image, a moving tag such as `latest`, or a
 * digest without a tag (a digest names no runtime by itself).
 */
export function baseImageSupport(reference: ImageName, today: Date): BaseImageSupport | undefined {
  const family = familyOf(reference)
  if (!family || reference.tag === null) return undefined
  const match = matchTag(family.repository, reference.tag)
  if (!match) return undefined
  const { base, arch } = match
  const day = utcDay(today)
  const daysLeft = Math.round((Date.parse(base.endOfSupport) - Date.parse(day)) / DAY_MS)
  const osEnd = AMAZON_LINUX_END_OF_LIFE[base.os]
  const status: BaseImageSupportStatus =
    daysLeft <= 0
      ? 'ended'
      : daysLeft <= END_OF_SUPPORT_NOTICE_DAYS
        ? 'ending-soon'
        : osEnd !== undefined && osEnd <= day
          ? 'os-end-of-life'
          : 'supported'
  const successorBase = base.successor ? runtimeBase(base.successor) : undefined
  const successor = successorBase && {
    image: `${family.prefix}${successorBase.repository}:${successorBase.tag}${arch}`,
    base: successorBase
  }
  const image = reference.canonical
  return {
    image,
    base,
    status,
    daysLeft,
    ...(successor ? { successor } : {}),
    message: describe(image, base, status, osEnd, successor)
  }
}

function describe(
  image: string,
  base: LambdaBaseImage,
  status: BaseImageSupportStatus,
  osEnd: string | undefined,
  successor: BaseImageSupport['successor']
): string {
  const what = `The base image ${image} (${base.label}, on ${base.os})`
  const move = successor
    ? ` Move to ${successor.image} (${successor.base.label}, supported until ${successor.base.endOfSupport}).`
    : ''
  const source = ` Dates: ${LAMBDA_RUNTIMES_PAGE}`
  switch (status) {
    case 'ended':
      return `${what} reached its end of support on ${base.endOfSupport}: AWS no longer applies security patches to it.${move}${source}`
    case 'ending-soon':
      return `${what} reaches its end of support on ${base.endOfSupport}: from that day AWS no longer applies security patches to it.${move}${source}`
    case 'os-end-of-life':
      return `${what} is supported until ${base.endOfSupport}, but ${base.os} reached its end of life on ${osEnd}: until then the image gets language runtime patches and only critical and selected important ${base.os} fixes.${move}${source}`
    case 'supported':
      return `${what} is supported until ${base.endOfSupport}.`
  }
}

/** Where AWS publishes its Lambda base images: the ECR Public gallery and its Docker Hub copy. */
function familyOf(reference: ImageName): { repository: string; prefix: string } | undefined {
  const registry = reference.registry.toLowerCase()
  if (registry === PUBLIC_GALLERY && reference.repository.startsWith(GALLERY_PREFIX)) {
    return {
      repository: reference.repository.slice(GALLERY_PREFIX.length),
      prefix: `${PUBLIC_GALLERY}/${GALLERY_PREFIX}`
    }
  }
  if (registry === DOCKER_HUB && reference.repository.startsWith(DOCKER_HUB_PREFIX)) {
    return {
      repository: reference.repository.slice(DOCKER_HUB_PREFIX.length),
      prefix: DOCKER_HUB_PREFIX
    }
  }
  return undefined
}

/**
 * The runtime a tag names. The longest runtime tag that the tag starts with wins, so that
 * `11.al2023` is Java 11 on AL2023, not Java 11, and `8.al2` is not Java 8 on Amazon Linux.
 */
function matchTag(
  repository: string,
  tag: string
): { base: LambdaBaseImage; arch: string } | undefined {
  const candidates = LAMBDA_BASE_IMAGES.filter(
    base => base.repository === repository && tag.startsWith(base.tag)
  ).sort((a, b) => b.tag.length - a.tag.length)
  for (const base of candidates) {
    const suffix = TAG_SUFFIX.exec(tag.slice(base.tag.length))
    if (suffix) return { base, arch: suffix.groups?.arch ?? '' }
  }
  return undefined
}

function runtimeBase(runtime: string): LambdaBaseImage | undefined {
  return LAMBDA_BASE_IMAGES.find(base => base.runtime === runtime)
}

function utcDay(date: Date): string {
  return date.toISOString().slice(0, 10)
}
