import { readFileSync } from 'node:fs'
import { describe, expect, it } from '@jest/globals'
import {
  baseImageLabels,
  findDockerfileBase,
  type BaseImageOptions,
  type DockerfileBase
} from '../../src/domain/dockerfile-base.js'
import { ActionError } from '../../src/domain/errors.js'

const lines = (...text: string[]): string => text.join('\n') + '\n'
const DIGEST = 'sha256:' + 'ab'.repeat(32)
const fixture = (name: string): string =>
  readFileSync(new URL(`../fixtures/dockerfiles/${name}`, import.meta.url), 'utf8')

/** A deep partial: only the keys a case names are compared. */
type Expected = { [K in keyof DockerfileBase]?: unknown }

interface Case {
  readonly name: string
  readonly dockerfile: string
  readonly options?: BaseImageOptions
  readonly expected: Expected
}

const cases: Case[] = [
  // --- image references ---
  {
    name: 'an official Docker Hub image gets docker.io and library/',
    dockerfile: lines('FROM alpine:3.20'),
    expected: {
      name: 'alpine:3.20',
      reference: {
        registry: 'docker.io',
        repository: 'library/alpine',
        tag: '3.20',
        digest: null,
        canonical: 'docker.io/library/alpine:3.20'
      },
      isAwsLambdaBase: false,
      scratch: false,
      line: 1
    }
  },
  {
    name: 'an image without tag or digest is canonically :latest but has no tag',
    dockerfile: lines('FROM ubuntu'),
    expected: { reference: { tag: null, canonical: 'docker.io/library/ubuntu:latest' } }
  },
  {
    name: 'a user image on Docker Hub keeps its namespace',
    dockerfile: lines('FROM someuser/app:1'),
    expected: { reference: { registry: 'docker.io', repository: 'someuser/app' } }
  },
  {
    name: 'index.docker.io is normalized to docker.io',
    dockerfile: lines('FROM index.docker.io/library/node:22'),
    expected: { reference: { registry: 'docker.io', repository: 'library/node', tag: '22' } }
  },
  {
    name: 'a registry with a port is a registry, not a tag',
    dockerfile: lines('FROM localhost:5000/team/app'),
    expected: {
      reference: { registry: 'localhost:5000', repository: 'team/app', tag: null }
    }
  },
  {
    name: 'an AWS Lambda base image on ECR Public is an AWS base',
    dockerfile: lines('FROM public.ecr.aws/lambda/nodejs:22'),
    expected: {
      name: 'public.ecr.aws/lambda/nodejs:22',
      reference: { registry: 'public.ecr.aws', repository: 'lambda/nodejs', tag: '22' },
      isAwsLambdaBase: true
    }
  },
  {
    name: 'an AWS Lambda base image on Docker Hub (amazon/aws-lambda-*) is an AWS base',
    dockerfile: lines('FROM amazon/aws-lambda-python:3.12'),
    expected: { reference: { repository: 'amazon/aws-lambda-python' }, isAwsLambdaBase: true }
  },
  {
    name: 'an image in a private ECR registry is not an AWS base, even under lambda/',
    dockerfile: lines('FROM 123456789012.dkr.ecr.eu-west-1.amazonaws.com/lambda/nodejs:22'),
    expected: {
      reference: {
        registry: '123456789012.dkr.ecr.eu-west-1.amazonaws.com',
        repository: 'lambda/nodejs'
      },
      isAwsLambdaBase: false
    }
  },
  {
    name: 'another ECR Public repository is not an AWS Lambda base',
    dockerfile: lines('FROM public.ecr.aws/docker/library/python:3.12'),
    expected: { isAwsLambdaBase: false }
  },
  {
    name: 'a pinned digest is reported next to the tag',
    dockerfile: lines(`FROM public.ecr.aws/lambda/python:3.12@${DIGEST}`),
    expected: {
      reference: {
        tag: '3.12',
        digest: DIGEST,
        canonical: `public.ecr.aws/lambda/python:3.12@${DIGEST}`
      },
      isAwsLambdaBase: true
    }
  },
  {
    name: 'a digest without a tag gets no implied :latest',
    dockerfile: lines(`FROM alpine@${DIGEST}`),
    expected: {
      reference: { tag: null, digest: DIGEST, canonical: `docker.io/library/alpine@${DIGEST}` }
    }
  },
  // --- keywords, comments, continuations ---
  {
    name: 'keywords and AS are case-insensitive',
    dockerfile: lines('from python:3.12 As Build', 'run pip install x', 'from build'),
    expected: {
      name: 'python:3.12',
      chain: [
        { index: 1, name: null, from: 'build' },
        { index: 0, name: 'build', from: 'python:3.12' }
      ]
    }
  },
  {
    name: 'comment lines and indented instructions are read as BuildKit reads them',
    dockerfile: lines(
      '# FROM commented:out',
      '   # FROM indented-comment:out',
      '  FROM alpine:3 AS base',
      'RUN echo FROM not:an-instruction # not a comment either'
    ),
    expected: { name: 'alpine:3', target: { index: 0, name: 'base' } }
  },
  {
    name: 'a FROM continued with backslashes, a comment and a blank line inside, is one line',
    dockerfile: lines(
      'FROM \\',
      '# a comment inside the instruction',
      '',
      '    --platform=linux/arm64 \\',
      '    public.ecr.aws/lambda/provided:al2023 \\',
      '    AS runtime'
    ),
    expected: {
      name: 'public.ecr.aws/lambda/provided:al2023',
      platform: 'linux/arm64',
      target: { name: 'runtime' },
      line: 1
    }
  },
  {
    name: 'a continued RUN swallows the FROM-looking line that continues it',
    dockerfile: lines('FROM alpine:3', 'RUN echo \\', 'FROM not:a-stage'),
    expected: { name: 'alpine:3', target: { index: 0 } }
  },
  {
    name: 'with # escape=` a backtick continues lines and a trailing backslash is literal',
    dockerfile: lines(
      '# escape=`',
      'FROM mcr.microsoft.com/windows/servercore:ltsc2022 AS win',
      'RUN dir C:\\',
      'FROM `',
      '  alpine:3'
    ),
    expected: { name: 'alpine:3', target: { index: 1, name: null }, line: 4 }
  },
  {
    name: 'an escape directive after a comment is only a comment',
    dockerfile: lines(
      '# just a comment',
      '# escape=`',
      'FROM alpine:3 AS first',
      'RUN echo `',
      'FROM python:3.12'
    ),
    expected: { name: 'python:3.12', target: { index: 1 } }
  },
  {
    name: 'CRLF line endings and a byte order mark do not matter',
    dockerfile: '\uFEFFARG TAG=22\r\nFROM node:${TAG} \\\r\n  AS app\r\n',
    expected: { name: 'node:22', target: { name: 'app' } }
  },
  // --- heredocs ---
  {
    name: 'lines inside a RUN heredoc are not instructions',
    dockerfile: lines('FROM alpine:3 AS real', 'RUN <<EOF', 'FROM evil:1', 'EOF'),
    expected: { name: 'alpine:3', target: { index: 0, name: 'real' } }
  },
  {
    name: 'two heredocs on one line, quoted and tab-stripped (<<-), are both skipped',
    dockerfile: lines(
      'FROM alpine:3',
      'RUN <<"ONE" cat > /a && cat <<-TWO > /b',
      'FROM evil:1',
      'ONE',
      'FROM evil:2',
      '\t\tTWO',
      'FROM python:3.12'
    ),
    expected: { name: 'python:3.12', target: { index: 1 } }
  },
  {
    name: 'a COPY heredoc body is skipped too',
    dockerfile: lines('FROM alpine:3', "COPY <<'END' /etc/config", 'FROM evil:1', 'END'),
    expected: { name: 'alpine:3', target: { index: 0 } }
  },
  {
    name: 'a quoted << and the exec form open no heredoc',
    dockerfile: lines(
      'FROM alpine:3',
      'RUN echo "<<EOF"',
      'RUN ["sh", "-c", "cat <<EOF"]',
      'FROM python:3.12'
    ),
    expected: { name: 'python:3.12', target: { index: 1 } }
  },
  {
    name: 'a here-string (<<<) is not a heredoc',
    dockerfile: lines('FROM alpine:3', 'RUN cat <<<"FROM evil:1"', 'FROM python:3.12'),
    expected: { name: 'python:3.12', target: { index: 1 } }
  },
  // --- ARG substitution ---
  {
    name: 'an ARG default before FROM is substituted (${VAR})',
    dockerfile: lines('ARG BASE=public.ecr.aws/lambda/nodejs:22', 'FROM ${BASE}'),
    expected: { name: 'public.ecr.aws/lambda/nodejs:22', isAwsLambdaBase: true }
  },
  {
    name: 'a build arg overrides the ARG default ($VAR)',
    dockerfile: lines('ARG TAG=20', 'FROM public.ecr.aws/lambda/nodejs:$TAG'),
    options: { buildArgs: { TAG: '22' } },
    expected: { name: 'public.ecr.aws/lambda/nodejs:22' }
  },
  {
    name: 'a build arg gives a value to an ARG declared without one',
    dockerfile: lines('ARG IMAGE', 'FROM $IMAGE'),
    options: { buildArgs: { IMAGE: 'python:3.13' } },
    expected: { name: 'python:3.13' }
  },
  {
    name: '${VAR:-default} uses the default when the ARG has no value',
    dockerfile: lines('ARG TAG', 'FROM node:${TAG:-22}'),
    expected: { name: 'node:22' }
  },
  {
    name: '${VAR:-default} uses the value when there is one',
    dockerfile: lines('ARG TAG', 'FROM node:${TAG:-22}'),
    options: { buildArgs: { TAG: '24' } },
    expected: { name: 'node:24' }
  },
  {
    name: '${VAR:+alternative} adds the alternative only when the ARG is non-empty',
    dockerfile: lines('ARG SLIM', 'FROM python:3.12${SLIM:+-slim}'),
    options: { buildArgs: { SLIM: '1' } },
    expected: { name: 'python:3.12-slim' }
  },
  {
    name: '${VAR:+alternative} is empty when the ARG has no value',
    dockerfile: lines('ARG SLIM', 'FROM python:3.12${SLIM:+-slim}'),
    expected: { name: 'python:3.12' }
  },
  {
    name: 'for an empty ARG, :- takes the default while - and + see it as set',
    dockerfile: lines('ARG TAG=', 'FROM node:${TAG:-22}${TAG-x}${TAG+-alpine}'),
    expected: { name: 'node:22-alpine' }
  },
  {
    name: 'ARG defaults may use earlier ARGs, several per line, quoted',
    dockerfile: lines(
      'ARG REGISTRY=public.ecr.aws RUNTIME="nodejs"',
      'ARG IMAGE=${REGISTRY}/lambda/${RUNTIME}',
      'FROM ${IMAGE}:22'
    ),
    expected: { name: 'public.ecr.aws/lambda/nodejs:22', isAwsLambdaBase: true }
  },
  {
    name: 'an ARG declared inside a stage does not change a later FROM',
    dockerfile: lines('ARG TAG=1', 'FROM alpine:$TAG AS a', 'ARG TAG=2', 'FROM node:$TAG'),
    expected: { name: 'node:1' }
  },
  {
    name: 'a stage the target does not need may use an ARG without value',
    dockerfile: lines(
      'ARG DEBUG_TAG',
      'FROM alpine:$DEBUG_TAG AS debug',
      'FROM python:3.12 AS app'
    ),
    expected: { name: 'python:3.12' }
  },
  // --- stages and targets ---
  {
    name: 'a chain of named stages is followed to the external image',
    dockerfile: lines(
      'FROM public.ecr.aws/lambda/python:3.12 AS a',
      'FROM a AS b',
      'RUN echo b',
      'FROM b AS c'
    ),
    expected: {
      name: 'public.ecr.aws/lambda/python:3.12',
      line: 1,
      target: { index: 2, name: 'c' },
      chain: [
        { index: 2, name: 'c', line: 4, from: 'b', platform: null },
        { index: 1, name: 'b', line: 2, from: 'a', platform: null },
        { index: 0, name: 'a', line: 1, from: 'public.ecr.aws/lambda/python:3.12', platform: null }
      ]
    }
  },
  {
    name: 'a stage name reached through an ARG is followed',
    dockerfile: lines(
      'ARG STAGE=prod',
      'FROM node:22 AS dev',
      'FROM python:3.12 AS prod',
      'FROM $STAGE'
    ),
    options: { buildArgs: { STAGE: 'dev' } },
    expected: { name: 'node:22', chain: [{ from: 'dev' }, { name: 'dev' }] }
  },
  {
    name: 'a stage named like an image is the image in its own FROM and the stage later',
    dockerfile: lines('FROM alpine:3 AS alpine', 'FROM alpine'),
    expected: { name: 'alpine:3', chain: [{ from: 'alpine' }, { from: 'alpine:3' }] }
  },
  {
    name: 'stage names are kept lower-case, so FROM with the lower-case name follows them',
    dockerfile: lines('FROM node:22 AS Build', 'FROM build'),
    expected: { name: 'node:22', chain: [{ from: 'build' }, { name: 'build' }] }
  },
  {
    name: 'the target selects a stage that is not the last one',
    dockerfile: fixture('lambda-node.Dockerfile'),
    options: { target: 'runtime' },
    expected: {
      target: { index: 1, name: 'runtime' },
      name: 'public.ecr.aws/lambda/nodejs:22',
      chain: [{ name: 'runtime' }]
    }
  },
  {
    name: 'the target is matched case-insensitively',
    dockerfile: lines('FROM node:22 AS build', 'FROM python:3.12 AS app'),
    options: { target: 'BUILD' },
    expected: { target: { index: 0, name: 'build' }, name: 'node:22' }
  },
  // --- platforms ---
  {
    name: 'a literal --platform on the base FROM is reported',
    dockerfile: lines('FROM --platform=linux/arm64 public.ecr.aws/lambda/nodejs:22'),
    expected: { platform: 'linux/arm64', platformIsSymbolic: false }
  },
  {
    name: '$BUILDPLATFORM stays symbolic',
    dockerfile: lines('FROM --platform=$BUILDPLATFORM golang:1.23'),
    options: { platform: 'linux/arm64' },
    expected: { platform: '$BUILDPLATFORM', platformIsSymbolic: true }
  },
  {
    name: '${TARGETPLATFORM} stays symbolic when no platform is given',
    dockerfile: lines('FROM --platform=${TARGETPLATFORM} golang:1.23'),
    expected: { platform: '${TARGETPLATFORM}', platformIsSymbolic: true }
  },
  {
    name: 'TARGETOS and TARGETARCH are filled from the given platform',
    dockerfile: lines('FROM --platform=$TARGETOS/${TARGETARCH} golang:1.23'),
    options: { platform: 'linux/arm64' },
    expected: { platform: 'linux/arm64', platformIsSymbolic: false }
  },
  {
    name: 'TARGETARCH in the image tag is filled from the given platform',
    dockerfile: lines('FROM public.ecr.aws/lambda/python:3.12-${TARGETARCH}'),
    options: { platform: 'linux/arm64' },
    expected: { name: 'public.ecr.aws/lambda/python:3.12-arm64' }
  },
  {
    name: 'TARGETVARIANT is the third part of the platform',
    dockerfile: lines('FROM arm32v7/alpine:3${TARGETVARIANT:+-$TARGETVARIANT}'),
    options: { platform: 'linux/arm/v7' },
    expected: { name: 'arm32v7/alpine:3-v7' }
  },
  {
    name: 'a --platform from an ARG before FROM is substituted',
    dockerfile: lines('ARG ARCH=amd64', 'FROM --platform=linux/${ARCH} alpine:3'),
    expected: { platform: 'linux/amd64' }
  },
  {
    name: 'the platform of the stage with the base image applies to the whole chain',
    dockerfile: lines(
      'FROM --platform=linux/amd64 public.ecr.aws/lambda/provided:al2023 AS base',
      'FROM --platform=linux/arm64 base AS app'
    ),
    expected: {
      platform: 'linux/amd64',
      chain: [{ platform: 'linux/arm64' }, { platform: 'linux/amd64' }]
    }
  },
  // --- scratch ---
  {
    name: 'FROM scratch has no base image',
    dockerfile: fixture('scratch.Dockerfile'),
    expected: {
      scratch: true,
      name: null,
      reference: null,
      isAwsLambdaBase: false,
      line: 1
    }
  },
  {
    name: 'a chain that ends in scratch has no base image',
    dockerfile: lines('FROM scratch AS empty', 'COPY bootstrap /', 'FROM empty'),
    expected: { scratch: true, name: null, chain: [{ from: 'empty' }, { from: 'scratch' }] }
  },
  // --- COPY --from ---
  {
    name: 'an image used with COPY --from is listed as copied from, not as the base',
    dockerfile: lines(
      'FROM public.ecr.aws/lambda/nodejs:22',
      'COPY --from=public.ecr.aws/awsguru/aws-lambda-adapter:0.9.1 /lambda-adapter /opt/extensions/'
    ),
    expected: {
      name: 'public.ecr.aws/lambda/nodejs:22',
      copiedFrom: [
        {
          name: 'public.ecr.aws/awsguru/aws-lambda-adapter:0.9.1',
          reference: { registry: 'public.ecr.aws', repository: 'awsguru/aws-lambda-adapter' },
          stage: { index: 0, name: null },
          line: 2
        }
      ]
    }
  },
  {
    name: 'COPY --from a stage index or name is a stage, and that stage’s copies count too',
    dockerfile: lines(
      'FROM golang:1.23 AS build',
      'COPY --link --from=ghcr.io/tools/lint:1 /lint /usr/bin/',
      'FROM alpine:3 AS unused',
      'COPY --from=busybox:1 /bin/sh /sh',
      'FROM public.ecr.aws/lambda/provided:al2023',
      'COPY --from=0 /out/bootstrap /var/runtime/',
      'COPY --chown=1 --from=BUILD /out/extra /opt/'
    ),
    expected: {
      copiedFrom: [{ name: 'ghcr.io/tools/lint:1', stage: { index: 0, name: 'build' }, line: 2 }]
    }
  },
  {
    name: 'a --from after the first argument is not a flag',
    dockerfile: lines('FROM alpine:3', 'COPY ./--from=busybox:1 /x'),
    expected: { copiedFrom: [] }
  },
  {
    name: 'the fixture: build arg, BuildKit heredoc and an extension copied from an image',
    dockerfile: fixture('lambda-node.Dockerfile'),
    options: { buildArgs: { NODE_VERSION: '20' }, platform: 'linux/arm64' },
    expected: {
      target: { index: 2, name: 'debug' },
      name: 'public.ecr.aws/lambda/nodejs:20',
      isAwsLambdaBase: true,
      platform: null,
      line: 14,
      chain: [
        { name: 'debug', line: 19 },
        { name: 'runtime', line: 14 }
      ],
      copiedFrom: [{ name: 'public.ecr.aws/awsguru/aws-lambda-adapter:0.9.1', line: 16 }]
    }
  },
  // --- RUN --mount from= ---
  {
    name: 'an image mounted with RUN --mount=...,from=IMAGE is copied from, for the platform built for',
    dockerfile: lines(
      'FROM public.ecr.aws/lambda/provided:al2023',
      'RUN --network=none --mount=type=bind,from=ghcr.io/tools/certs:1,source=/c,target=/c cp /c/x /x'
    ),
    expected: {
      copiedFrom: [
        {
          name: 'ghcr.io/tools/certs:1',
          instruction: 'RUN',
          line: 2,
          platform: null,
          platformIsSymbolic: false
        }
      ],
      unpinnedSources: []
    }
  },
  {
    name: 'a stage mounted with from= is needed, and its own images count',
    dockerfile: lines(
      'FROM golang:1.23 AS tools',
      'FROM alpine:3 AS unused',
      'FROM public.ecr.aws/lambda/provided:al2023',
      'RUN --mount=from=tools,target=/t --mount=type=cache,target=/c true'
    ),
    expected: {
      copiedFrom: [],
      stageImages: [
        { name: 'golang:1.23', instruction: 'FROM', line: 1 },
        { name: 'public.ecr.aws/lambda/provided:al2023', instruction: 'FROM', line: 3 }
      ]
    }
  },
  {
    name: 'a mount from= a variable is an unpinned source',
    dockerfile: lines('FROM alpine:3', 'ARG TOOLS', 'RUN --mount=from=$TOOLS,target=/t true'),
    expected: {
      copiedFrom: [],
      unpinnedSources: [{ instruction: 'RUN', line: 3, kind: 'variable', source: 'from=$TOOLS' }]
    }
  },
  // --- FROM --platform ---
  {
    name: 'a FROM --platform=$BUILDPLATFORM stage image is pulled for the builder’s platform',
    dockerfile: lines(
      'FROM --platform=$BUILDPLATFORM golang:1.23 AS build',
      'FROM --platform=linux/amd64 alpine:3 AS amd',
      'FROM public.ecr.aws/lambda/provided:al2023',
      'COPY --from=build /out /var/runtime/',
      'COPY --from=amd /etc/os-release /x'
    ),
    options: { platform: 'linux/arm64' },
    expected: {
      stageImages: [
        { name: 'golang:1.23', platform: '$BUILDPLATFORM', platformIsSymbolic: true },
        { name: 'alpine:3', platform: 'linux/amd64', platformIsSymbolic: false },
        { name: 'public.ecr.aws/lambda/provided:al2023', platform: null }
      ]
    }
  },
  // --- ADD of remote sources ---
  {
    name: 'ADD of a URL without --checksum, of a git repository or of a variable is unpinned',
    dockerfile: lines(
      'FROM alpine:3 AS build',
      'ADD https://example.com/a.tgz /a.tgz',
      'ADD --checksum=sha256:0123 https://example.com/b.tgz /b.tgz',
      'ADD https://github.com/org/repo.git#v1 /src',
      'ADD git@github.com:org/repo.git /src2',
      'ARG URL',
      'ADD $URL /c',
      'ADD ["http://example.com/d d", "/d"]',
      'ADD --chown=1 app.tgz ./$NOT_FIRST /app/',
      'FROM public.ecr.aws/lambda/provided:al2023',
      'COPY --from=build /a.tgz /'
    ),
    expected: {
      unpinnedSources: [
        { instruction: 'ADD', line: 2, kind: 'url', source: 'https://example.com/a.tgz' },
        { line: 4, kind: 'git', source: 'https://github.com/org/repo.git#v1' },
        { line: 5, kind: 'git', source: 'git@github.com:org/repo.git' },
        { line: 7, kind: 'variable', source: '$URL' },
        { line: 8, kind: 'url', source: 'http://example.com/d d' }
      ]
    }
  },
  {
    name: 'ADD in a stage the target does not need is not fetched',
    dockerfile: lines(
      'FROM alpine:3 AS unused',
      'ADD https://example.com/a.tgz /a.tgz',
      'FROM public.ecr.aws/lambda/provided:al2023',
      'ADD ./local.tgz /x'
    ),
    expected: { unpinnedSources: [] }
  },
  // --- the frontend ---
  {
    name: 'the # syntax directive names the frontend image',
    dockerfile: lines('# syntax=docker/dockerfile:1.10', '# escape=\\', 'FROM alpine:3'),
    expected: {
      frontends: [
        {
          name: 'docker/dockerfile:1.10',
          reference: { registry: 'docker.io', repository: 'docker/dockerfile' },
          line: 1
        }
      ]
    }
  },
  {
    name: 'a BUILDKIT_SYNTAX build argument names a frontend image too',
    dockerfile: lines('#syntax = docker/dockerfile:1', 'FROM alpine:3'),
    options: { buildArgs: { BUILDKIT_SYNTAX: 'ghcr.io/me/frontend:2' } },
    expected: {
      frontends: [
        { name: 'docker/dockerfile:1', line: 1 },
        { name: 'ghcr.io/me/frontend:2', line: null }
      ]
    }
  },
  {
    name: 'a syntax comment after the first instruction is a comment, not a directive',
    dockerfile: lines('FROM alpine:3', '# syntax=docker/dockerfile:1'),
    expected: { frontends: [] }
  }
]

describe('findDockerfileBase', () => {
  it.each(cases)('$name', ({ dockerfile, options, expected }) => {
    expect(findDockerfileBase(dockerfile, options)).toMatchObject(expected)
  })
})

interface ErrorCase {
  readonly name: string
  readonly dockerfile: string
  readonly options?: BaseImageOptions
  readonly id: string
  /** A piece of the reason that tells the user where or what. */
  readonly reason: string
}

const errorCases: ErrorCase[] = [
  {
    name: 'an ARG without a value used in FROM',
    dockerfile: fixture('unset-arg.Dockerfile'),
    id: 'dockerfile-variable-without-value',
    reason: 'FROM on line 2 uses BASE_IMAGE, an ARG declared without a default value'
  },
  {
    name: 'a variable never declared before FROM',
    dockerfile: lines('FROM node:$TAG'),
    id: 'dockerfile-variable-without-value',
    reason: 'TAG, which is not declared with ARG before the first FROM'
  },
  {
    name: 'a build arg for an ARG that is declared only inside a stage',
    dockerfile: lines('FROM alpine:3', 'ARG TAG', 'FROM node:$TAG'),
    options: { buildArgs: { TAG: '22' } },
    id: 'dockerfile-variable-without-value',
    reason: 'line 3'
  },
  {
    name: '${VAR:?message} without a value',
    dockerfile: lines('ARG RUNTIME', 'FROM public.ecr.aws/lambda/${RUNTIME:?set-RUNTIME}'),
    id: 'dockerfile-required-variable',
    reason: 'needs RUNTIME: set-RUNTIME'
  },
  {
    name: 'an unknown target',
    dockerfile: lines('FROM node:22 AS build', 'FROM python:3.12 AS app'),
    options: { target: 'runtime' },
    id: 'dockerfile-target-not-found',
    reason: 'no stage named "runtime" (stages: build, app)'
  },
  {
    name: 'a Dockerfile without FROM',
    dockerfile: lines('# nothing here', 'ARG A=1'),
    id: 'dockerfile-no-stage',
    reason: 'no FROM'
  },
  {
    name: 'an upper-case image name',
    dockerfile: lines('FROM Alpine:3'),
    id: 'invalid-image-reference',
    reason:
      'FROM on line 1: "Alpine:3" is not a valid image reference: repository names must be lower case'
  },
  {
    name: 'a short sha256 digest',
    dockerfile: lines('FROM alpine@sha256:abc'),
    id: 'invalid-image-reference',
    reason: '"sha256:abc" is not a digest'
  },
  {
    name: 'TARGETARCH in the image name when no platform is given',
    dockerfile: lines('FROM public.ecr.aws/lambda/python:3.12-$TARGETARCH'),
    id: 'dockerfile-platform-unknown',
    reason: 'uses TARGETARCH'
  },
  {
    name: 'BUILDPLATFORM in the image name',
    dockerfile: lines('FROM golang:1.23-${BUILDARCH}'),
    options: { platform: 'linux/amd64' },
    id: 'dockerfile-platform-unknown',
    reason: 'uses BUILDARCH'
  },
  {
    name: 'a variable in COPY --from, which BuildKit does not expand',
    dockerfile: lines('ARG IMG=alpine:3', 'FROM alpine:3', 'COPY --from=${IMG} /a /b'),
    id: 'dockerfile-copy-from-variable',
    reason: 'COPY --from on line 3'
  },
  {
    name: 'COPY --from a stage index that does not exist',
    dockerfile: lines('FROM alpine:3', 'COPY --from=1 /a /b'),
    id: 'dockerfile-stage-not-found',
    reason: 'refers to stage 1, but the Dockerfile has 1 stage(s)'
  },
  {
    name: 'an escape directive other than \\ or `',
    dockerfile: lines('# escape=%', 'FROM alpine:3'),
    id: 'dockerfile-invalid-escape',
    reason: '"%"'
  },
  {
    name: 'a platform option that is not OS/ARCH',
    dockerfile: lines('FROM alpine:3'),
    options: { platform: 'arm64' },
    id: 'invalid-platform',
    reason: '"arm64" is not a platform'
  },
  {
    name: 'a FROM with extra words',
    dockerfile: lines('FROM alpine:3 AS a b'),
    id: 'dockerfile-invalid-from',
    reason: 'FROM on line 1'
  },
  {
    name: '--platform without "="',
    dockerfile: lines('FROM --platform linux/arm64 alpine:3'),
    id: 'dockerfile-flag-without-value',
    reason: '--platform without a value'
  },
  {
    name: 'two stages with the same name',
    dockerfile: lines('FROM alpine:3 AS app', 'FROM node:22 AS APP'),
    id: 'dockerfile-duplicate-stage',
    reason: 'FROM on line 2 names a second stage "app"'
  },
  {
    name: 'a FROM whose ARG expands to nothing',
    dockerfile: lines('ARG IMAGE=', 'FROM ${IMAGE}'),
    id: 'dockerfile-invalid-from',
    reason: 'expands to nothing'
  },
  {
    name: 'a pattern substitution',
    dockerfile: lines('ARG V=3.12', 'FROM python:${V/./-}'),
    id: 'dockerfile-unsupported-substitution',
    reason: 'FROM on line 2'
  },
  {
    name: 'an unterminated ${',
    dockerfile: lines('ARG V=3', 'FROM python:${V:-3'),
    id: 'dockerfile-bad-substitution',
    reason: 'without its closing }'
  }
]

describe('findDockerfileBase errors', () => {
  it.each(errorCases)('refuses $name', ({ dockerfile, options, id, reason }) => {
    let caught: unknown
    try {
      findDockerfileBase(dockerfile, options)
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(ActionError)
    const error = caught as ActionError
    expect(error.id).toBe(id)
    expect(error.reason).toContain(reason)
    expect(error.fix).not.toBe('')
  })
})

describe('baseImageLabels', () => {
  it('names the fully qualified base image and its pinned digest', () => {
    const base = findDockerfileBase(lines(`FROM public.ecr.aws/lambda/nodejs:22@${DIGEST}`))
    expect(baseImageLabels(base)).toEqual({
      'org.opencontainers.image.base.name': `public.ecr.aws/lambda/nodejs:22@${DIGEST}`,
      'org.opencontainers.image.base.digest': DIGEST
    })
  })

  it('has no digest label for an image that is not pinned', () => {
    const base = findDockerfileBase(lines('FROM alpine'))
    expect(baseImageLabels(base)).toEqual({
      'org.opencontainers.image.base.name': 'docker.io/library/alpine:latest'
    })
  })

  it('has no labels for scratch', () => {
    expect(baseImageLabels(findDockerfileBase(lines('FROM scratch')))).toEqual({})
  })
})
