import { describe, expect, it } from '@jest/globals'
import { findRunSteps } from '../../src/domain/dockerfile-base.js'

const lines = (...text: string[]): string => text.join('\n') + '\n'
const ARM = { platform: 'linux/arm64', buildPlatform: 'linux/amd64' }
const where = (dockerfile: string, options: Parameters<typeof findRunSteps>[1] = ARM) =>
  findRunSteps(dockerfile, options).map(step => `${step.line} ${step.platform}`)

describe('findRunSteps', () => {
  it('finds no RUN step in a Dockerfile of FROM, COPY and CMD only', () => {
    expect(
      where(
        lines(
          'FROM public.ecr.aws/lambda/provided:al2023',
          'COPY bootstrap /var/runtime/',
          'CMD ["x"]'
        )
      )
    ).toEqual([])
  })

  it('gives a RUN step in a stage without --platform the target platform', () => {
    expect(where(lines('FROM public.ecr.aws/lambda/nodejs:22', 'RUN npm ci'))).toEqual([
      '2 linux/arm64'
    ])
  })

  it('gives a stage FROM --platform=$BUILDPLATFORM the builder platform', () => {
    const dockerfile = lines(
      'FROM --platform=$BUILDPLATFORM golang:1.23 AS build',
      'RUN go build -o /out/bootstrap .',
      'FROM public.ecr.aws/lambda/provided:al2023',
      'COPY --from=build /out/bootstrap /var/runtime/bootstrap'
    )
    expect(where(dockerfile)).toEqual(['2 linux/amd64'])
  })

  it('gives a stage built FROM another stage that stage’s platform', () => {
    const dockerfile = lines(
      'FROM --platform=${BUILDPLATFORM} alpine AS tools',
      'FROM tools AS build',
      'RUN make',
      'FROM scratch',
      'COPY --from=build /out /'
    )
    expect(where(dockerfile)).toEqual(['3 linux/amd64'])
  })

  it('expands TARGETPLATFORM and literal platforms', () => {
    const dockerfile = lines(
      'FROM --platform=$TARGETPLATFORM alpine AS a',
      'RUN a',
      'FROM --platform=linux/amd64 alpine AS b',
      'RUN b',
      'FROM scratch',
      'COPY --from=a / /a',
      'COPY --from=b / /b'
    )
    expect(where(dockerfile)).toEqual(['2 linux/arm64', '4 linux/amd64'])
  })

  it('leaves out the stages the target does not need', () => {
    const dockerfile = lines(
      'FROM alpine AS unused',
      'RUN exit 1',
      'FROM alpine AS runtime',
      'COPY app /app',
      'FROM runtime AS debug',
      'RUN echo debug'
    )
    expect(where(dockerfile, { ...ARM, target: 'runtime' })).toEqual([])
    expect(where(dockerfile)).toEqual(['6 linux/arm64'])
  })

  it('follows COPY --from to the stages it copies from, by name and by index', () => {
    const dockerfile = lines(
      'FROM alpine',
      'RUN one',
      'FROM alpine AS two',
      'RUN two',
      'FROM scratch',
      'COPY --from=0 /a /a',
      'COPY --from=two /b /b'
    )
    expect(where(dockerfile)).toEqual(['2 linux/arm64', '4 linux/arm64'])
  })

  it('reads a RUN heredoc as one step', () => {
    const dockerfile = lines('FROM alpine', 'RUN <<EOF', 'RUN not an instruction', 'EOF')
    expect(where(dockerfile)).toEqual(['2 linux/arm64'])
  })

  it('takes a platform from a build argument', () => {
    const dockerfile = lines(
      'ARG TOOLS_PLATFORM=linux/arm64',
      'FROM --platform=$TOOLS_PLATFORM alpine',
      'RUN x'
    )
    expect(where(dockerfile, { ...ARM, buildArgs: { TOOLS_PLATFORM: 'linux/amd64' } })).toEqual([
      '3 linux/amd64'
    ])
  })
})
